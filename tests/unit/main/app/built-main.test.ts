/**
 * The built main process (out/main/index.js, an ES module) booted in plain Node with the stub
 * standing in for Electron: its imports resolve outside the bundle, it finds its preload and
 * renderer, answers IPC through the real services and quits cleanly. The closest check of the
 * bundle there is without the Electron binary. Skipped when out/ is not built.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// security.ts imports electron; the real module would try to download the binary.
vi.mock('electron', async () => (await import('../../../helpers/electron-stub')).electronModule);

import { CONTENT_SECURITY_POLICY } from '../../../../src/main/app/security';

const main = path.resolve('out/main/index.js');
const register = path.resolve('tests/unit/main/app/boot/register.mjs');
const built = ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html'].every((f) => fs.existsSync(path.resolve(f)));

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlab-built-main-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('built main process', () => {
  it('boots, opens the locked-down window on the built renderer, serves IPC and quits', (ctx) => {
    if (!built) ctx.skip('out/ is not fully built: run `npx electron-vite build` (npm test builds before the unit tests)');
    const result = spawnSync(process.execPath, ['--import', 'tsx/esm', '--import', register, main], {
      env: { ...process.env, QUANTLAB_WORKSPACE: path.join(dir, 'ws'), QUANTLAB_TEST_USER_DATA: path.join(dir, 'userData'), ELECTRON_RENDERER_URL: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const reportLine = result.stdout.split('\n').find((l) => l.startsWith('REPORT '));
    expect(reportLine, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBeDefined();
    const report = JSON.parse(reportLine!.slice('REPORT '.length));

    expect(report.errors).toEqual([]);
    expect(report.sandboxEnabled).toBe(true);
    expect(report.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
    expect(report.webPreferences.preload).toBe(path.resolve('out/preload/index.cjs'));
    expect(report.preloadExists).toBe(true);
    expect(report.loadedFile).toBe(path.resolve('out/renderer/index.html'));
    expect(report.loadedFileExists).toBe(true);
    expect(report.visible).toBe(true);
    expect(report.menu).toContain('&View');
    expect(report.info).toMatchObject({ ok: true, result: { name: 'QuantLab', transport: 'electron', workspaceDir: path.join(dir, 'ws') } });
    expect(report.bad).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(report.csp).toEqual([CONTENT_SECURITY_POLICY]);
    expect(result.stdout).toContain('QUIT');
    expect(result.status).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'userData', 'window-state.json'), 'utf8'))).toMatchObject({ maximized: false });
  });
});
