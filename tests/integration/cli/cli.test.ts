/**
 * The `quantlab` command as a user runs it: a real child process of bin/quantlab.mjs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DoctorReport } from '../../../src/shared/api/contract';

const BIN = path.resolve(__dirname, '../../../bin/quantlab.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-'));

function quantlab(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('quantlab CLI', () => {
  it('--help lists the verbs and global flags', () => {
    const r = quantlab(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['serve', 'doctor', '--workspace', '--json', '--debug', '--version']) expect(r.stdout).toContain(word);
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8'));
    const r = quantlab(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('bad usage exits 2 with a one-line error and no stack', () => {
    for (const args of [['--frobnicate'], ['frobnicate'], ['serve', '--port', 'abc'], ['doctor', '--bogus']]) {
      const r = quantlab(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(/^quantlab: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('doctor --json reports every dependency, validated by the contract, and writes nothing', () => {
    const ws = path.join(tmp, 'not-yet');
    const r = quantlab(['--json', '--workspace', ws, 'doctor']);
    expect(r.code).toBe(0);
    const report = DoctorReport.parse(JSON.parse(r.stdout));
    expect(report.checks.map((c) => c.id).sort()).toEqual(['adb', 'chromium', 'electron', 'fashion-mnist', 'flatc', 'node', 'sqlite', 'tfjs']);
    const node = report.checks.find((c) => c.id === 'node')!;
    expect(node).toMatchObject({ ok: true, version: process.versions.node });
    for (const c of report.checks) if (!c.ok) expect(c.fix, c.id).toBeTruthy();
    expect(report.tfjsBackend).not.toBeNull();
    expect(fs.existsSync(ws)).toBe(false);
  });

  it('a workspace that is a file, or under a file, is a one-line user error (exit 1) and nothing is written', () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'keep me');
    const r = quantlab(['--workspace', file, 'doctor']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`quantlab: Workspace '${file}' is a file, not a folder: choose a folder with --workspace.\n`);
    const r2 = quantlab(['--workspace', path.join(file, 'sub'), 'serve']);
    expect(r2.code).toBe(1);
    expect(r2.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
    const json = quantlab(['--json', '--workspace', file, 'doctor']);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'bad-workspace', message: expect.stringContaining('is a file') } });
  });

  it('--debug adds the stack trace to a user error', () => {
    const file = path.join(tmp, 'a-file-2');
    fs.writeFileSync(file, '');
    const r = quantlab(['--debug', '--workspace', file, 'doctor']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
