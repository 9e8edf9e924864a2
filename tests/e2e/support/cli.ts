/**
 * The real `quantlab` CLI, run the way a user runs it, for tests that prepare or check a
 * workspace from outside the page.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './paths';

const BIN = path.join(ROOT, 'bin', 'quantlab.mjs');

export interface CliResult {
  stdout: string;
  stderr: string;
  /** The exit code (0 unless `expectFailure`). */
  code: number;
}

export interface CliOptions {
  timeoutMs?: number;
  /** The verb is meant to fail (exit 1, a user error): resolve with its output instead of rejecting. */
  expectFailure?: boolean;
}

/** Runs `quantlab --workspace DIR ARGS…`; rejects with its stderr when it exits otherwise than expected. */
export function quantlab(workspaceDir: string, args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, '--workspace', workspaceDir, ...args],
      { cwd: ROOT, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (options.expectFailure ? code !== 1 : code !== 0) {
          reject(new Error(`quantlab ${args.join(' ')} exited with ${error?.message ?? 'code 0'}${options.expectFailure ? ', not 1 as expected' : ''}.\nstderr:\n${stderr}`));
        } else resolve({ stdout, stderr, code });
      },
    );
  });
}

/** Runs a verb with `--json` and parses what it prints (`{"error": …}` when it was meant to fail). */
export async function quantlabJson<T>(workspaceDir: string, args: readonly string[], options: CliOptions = {}): Promise<T> {
  const { stdout } = await quantlab(workspaceDir, ['--json', ...args], options);
  return JSON.parse(stdout) as T;
}

/** Starts a verb in the background (e.g. a long eval) and returns its process. */
export function spawnQuantlab(workspaceDir: string, args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [BIN, '--workspace', workspaceDir, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
}
