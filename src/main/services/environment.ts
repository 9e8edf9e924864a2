/**
 * Facts about this machine that QuantLab depends on, found without side effects: nothing is
 * downloaded, installed or written. (Note: `require('electron')` from Node tries to download the
 * binary; this module reads the electron package's files instead.)
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from './app-version';

export interface ElectronBinary {
  /** The electron package's version (from its package.json), null when the package is absent. */
  packageVersion: string | null;
  /** Absolute path of the Electron executable, null when it has not been downloaded. */
  executable: string | null;
}

export function findElectronBinary(root = projectRoot(), env: NodeJS.ProcessEnv = process.env): ElectronBinary {
  const pkgDir = path.join(root, 'node_modules', 'electron');
  let packageVersion: string | null = null;
  try {
    packageVersion = (JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return { packageVersion: null, executable: null };
  }
  let relative: string | null = null;
  try {
    relative = fs.readFileSync(path.join(pkgDir, 'path.txt'), 'utf8').trim();
  } catch {
    relative = null;
  }
  const distDir = env.ELECTRON_OVERRIDE_DIST_PATH ?? path.join(pkgDir, 'dist');
  const candidate = relative ? path.join(distDir, relative) : env.ELECTRON_OVERRIDE_DIST_PATH ? path.join(distDir, 'electron') : null;
  return { packageVersion, executable: candidate && fs.existsSync(candidate) ? candidate : null };
}

export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs a program with a time limit; never throws (a missing program is `ok: false`). */
export function runCommand(file: string, args: string[], timeoutMs = 10_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8', windowsHide: true }, (error, stdout, stderr) => {
      resolve({ ok: !error, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') });
    });
  });
}

/** The first of `names` found as an executable file on PATH (or given as an absolute path). */
export function findOnPath(names: string[], env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of names) {
    const candidates = path.isAbsolute(name) ? [name] : dirs.map((d) => path.join(d, name));
    for (const c of candidates) {
      try {
        fs.accessSync(c, fs.constants.X_OK);
        if (fs.statSync(c).isFile()) return c;
      } catch {
        /* not here */
      }
    }
  }
  return null;
}

/** Debian's Chromium, or any Chromium/Chrome on PATH (for e2e tests and PDF reports). */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.QUANTLAB_CHROMIUM) return findOnPath([env.QUANTLAB_CHROMIUM], env);
  return findOnPath(['/usr/lib/chromium/chromium', '/usr/bin/chromium', 'chromium', 'chromium-browser', 'google-chrome'], env);
}
