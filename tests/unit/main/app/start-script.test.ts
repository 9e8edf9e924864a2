/**
 * `npm start` (scripts/start.mjs) on a machine without the Electron binary: one line saying so,
 * then `quantlab serve`, with signals and the exit code passed through. Runs the real script.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const script = path.resolve('scripts/start.mjs');
const hasRenderer = fs.existsSync(path.resolve('out/renderer/index.html'));
const hasCli = fs.existsSync(path.resolve('bin/quantlab.mjs'));

let workspace: string;
let child: ChildProcess | null = null;

beforeEach(() => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlab-start-'));
});
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = null;
  fs.rmSync(workspace, { recursive: true, force: true });
});

function start(args: string[]) {
  // An empty ELECTRON_OVERRIDE_DIST_PATH makes sure no Electron binary is found, even on a
  // machine that has one.
  const env = { ...process.env, QUANTLAB_WORKSPACE: workspace, ELECTRON_OVERRIDE_DIST_PATH: path.join(workspace, 'no-electron') };
  const proc = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, exited, out: () => stdout, err: () => stderr };
}

async function until<T>(probe: () => T | null | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm start without the Electron binary', () => {
  it('never loads the electron module', () => {
    const source = fs.readFileSync(script, 'utf8');
    expect(source).not.toMatch(/require\(\s*['"]electron['"]\s*\)|from\s+['"]electron['"]|import\(\s*['"]electron['"]\s*\)/);
  });

  it('says so in one line, serves the UI, and stops cleanly on SIGINT', async (ctx) => {
    if (!hasRenderer || !hasCli) ctx.skip('needs out/renderer (npm run build) and bin/quantlab.mjs');
    const run = start([]);
    const url = await until(() => run.out().match(/http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/)?.[0], 30_000, 'the serve URL');
    expect(run.err().trim().split('\n')).toEqual([
      "Electron binary not installed (it downloads on first use, which needs internet): serving the same UI in your browser with 'quantlab serve' instead.",
    ]);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');

    run.proc.kill('SIGINT');
    expect(await run.exited).toBe(0);
  });

  it("passes arguments to serve and returns serve's exit code", async (ctx) => {
    if (!hasRenderer || !hasCli) ctx.skip('needs out/renderer (npm run build) and bin/quantlab.mjs');
    const run = start(['--port', 'not-a-port']);
    expect(await run.exited).toBe(2);
    expect(run.err()).toMatch(/not a port number/);
  });
});
