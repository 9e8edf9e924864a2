/**
 * Starts the real `quantlab serve` on a free port with a fresh workspace, the way a user does,
 * and reads the one JSON line it prints when it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './paths';

export interface ServedApp {
  /** The link with `?token=…`, as printed. */
  url: string;
  origin: string;
  port: number;
  token: string;
  workspaceDir: string;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 60_000;

export interface ServeOptions {
  /** A fixed workspace folder (emptied first), e.g. for screenshots that show its path; a fresh temporary one by default. */
  workspaceDir?: string;
  /** Fills the (empty) workspace before the server starts, e.g. by running the real CLI on it. */
  prepare?: (workspaceDir: string) => Promise<void>;
}

export async function startServe(options: ServeOptions = {}): Promise<ServedApp> {
  let workspaceDir: string;
  if (options.workspaceDir) {
    workspaceDir = options.workspaceDir;
    await fs.rm(workspaceDir, { recursive: true, force: true });
    await fs.mkdir(workspaceDir, { recursive: true });
  } else {
    workspaceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quantlab-e2e-'));
  }
  if (options.prepare) {
    try {
      await options.prepare(workspaceDir);
    } catch (e) {
      await fs.rm(workspaceDir, { recursive: true, force: true });
      throw e;
    }
  }
  const bin = path.join(ROOT, 'bin', 'quantlab.mjs');
  const child = spawn(process.execPath, [bin, '--workspace', workspaceDir, 'serve', '--port', '0', '--json', '--no-open'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });

  try {
    const line = await firstLine(child, () => stderr);
    const printed = JSON.parse(line) as { url: string; port: number; token: string };
    const url = new URL(printed.url);
    return {
      url: printed.url,
      origin: url.origin,
      port: printed.port,
      token: printed.token,
      workspaceDir,
      stop: () => stop(child, workspaceDir),
    };
  } catch (e) {
    await stop(child, workspaceDir);
    throw e;
  }
}

function firstLine(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(
      () => reject(new Error(`quantlab serve printed no JSON line within ${STARTUP_TIMEOUT_MS / 1000} s.\nstderr:\n${stderr()}`)),
      STARTUP_TIMEOUT_MS,
    );
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(stdout.slice(0, newline));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`quantlab serve exited (${signal ?? `code ${code}`}) before listening.\nstderr:\n${stderr()}`));
    });
  });
}

async function stop(child: ChildProcess, workspaceDir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  await fs.rm(workspaceDir, { recursive: true, force: true });
}
