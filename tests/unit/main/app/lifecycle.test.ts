import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', async () => (await import('../../../helpers/electron-stub')).electronModule);

import { electron, FakeBrowserWindow, resetElectronStub } from '../../../helpers/electron-stub';
import { IPC_INVOKE } from '../../../../src/shared/ipc';
import { appPaths } from '../../../../src/main/app/paths';
import { startApp, type StartOptions } from '../../../../src/main/app/lifecycle';

let dir: string;
let workspace: string;
let lines: string[];

function start(extra: Partial<StartOptions> = {}) {
  return startApp({
    paths: appPaths(path.resolve('/opt/quantlab')),
    env: { QUANTLAB_WORKSPACE: workspace },
    platform: 'linux',
    log: (line) => lines.push(line),
    ...extra,
  });
}

async function started(extra: Partial<StartOptions> = {}) {
  const handle = start(extra);
  electron.app.becomeReady();
  await handle.ready;
  return handle;
}

beforeEach(() => {
  resetElectronStub();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlab-life-'));
  workspace = path.join(dir, 'workspace');
  electron.app.userDataDir = path.join(dir, 'userData');
  lines = [];
});
afterEach(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('app lifecycle', () => {
  it('quits at once when another QuantLab holds the single-instance lock', async () => {
    electron.app.singleInstance = false;
    const handle = start();
    electron.app.becomeReady();
    await handle.ready;
    expect(electron.app.quitCount).toBe(1);
    expect(FakeBrowserWindow.all).toHaveLength(0);
    expect(handle.services()).toBeNull();
  });

  it('waits for ready, then creates the workspace, the services, IPC, security, menu and one window', async () => {
    const handle = start();
    expect(electron.app.sandboxEnabled).toBe(true);
    expect(FakeBrowserWindow.all).toHaveLength(0);
    expect(electron.ipcMain.handlers.has(IPC_INVOKE)).toBe(false);
    electron.app.becomeReady();
    await handle.ready;

    expect(fs.statSync(workspace).isDirectory()).toBe(true);
    expect(handle.services()?.workspaceDir).toBe(workspace);
    expect(electron.ipcMain.handlers.has(IPC_INVOKE)).toBe(true);
    expect(electron.session.defaultSession.headersListener).toBeTypeOf('function');
    expect(electron.session.defaultSession.permissionRequestHandler).toBeTypeOf('function');
    expect(electron.Menu.applicationMenu).not.toBeNull();
    expect(FakeBrowserWindow.all).toHaveLength(1);
    const [win] = FakeBrowserWindow.all;
    expect(win.loadedFile).toBe(path.resolve('/opt/quantlab/out/renderer/index.html'));
    // The window is hardened like every webContents.
    expect(win.webContents.windowOpenHandler).toBeTypeOf('function');
    expect(dialogErrors()).toEqual([]);
  });

  it("answers the window's own calls through the services", async () => {
    await started();
    const [win] = FakeBrowserWindow.all;
    const envelope = await electron.ipcMain.invoke(IPC_INVOKE, { sender: win.webContents, senderFrame: win.webContents.mainFrame }, 'app.info', {});
    expect(envelope).toMatchObject({ ok: true, result: { transport: 'electron', workspaceDir: workspace } });
  });

  it('quits when the last window closes, except on macOS', async () => {
    await started();
    FakeBrowserWindow.all[0].close();
    expect(electron.app.quitCount).toBe(1);

    resetElectronStub();
    await started({ platform: 'darwin' });
    FakeBrowserWindow.all[0].close();
    expect(electron.app.quitCount).toBe(0);
    electron.app.emit('activate');
    expect(FakeBrowserWindow.getAllWindows()).toHaveLength(1);
  });

  it('does not open a second window on activate when one is open', async () => {
    await started({ platform: 'darwin' });
    electron.app.emit('activate');
    expect(FakeBrowserWindow.getAllWindows()).toHaveLength(1);
  });

  it('brings the window back when a second instance starts', async () => {
    await started();
    const [win] = FakeBrowserWindow.all;
    win.minimize();
    electron.app.emit('second-instance', {}, ['quantlab'], '/');
    expect(win.isMinimized()).toBe(false);
    expect(win.focused).toBe(true);
    expect(FakeBrowserWindow.all).toHaveLength(1);
  });

  it('closes the services before quitting, once', async () => {
    const handle = await started();
    const services = handle.services()!;
    let release!: () => void;
    const close = vi.spyOn(services, 'close').mockImplementation(() => new Promise<void>((r) => (release = r)));

    expect(electron.app.tryQuit()).toBe(true);
    expect(electron.app.tryQuit()).toBe(true);
    expect(close).toHaveBeenCalledTimes(1);
    expect(electron.ipcMain.handlers.has(IPC_INVOKE)).toBe(false);
    expect(electron.app.quitCount).toBe(0);

    release();
    await vi.waitFor(() => expect(electron.app.quitCount).toBe(1));
    expect(electron.app.tryQuit()).toBe(false);
    expect(handle.services()).toBeNull();
  });

  it('still quits when closing the services fails', async () => {
    const handle = await started();
    vi.spyOn(handle.services()!, 'close').mockRejectedValue(new Error('disk gone'));
    expect(electron.app.tryQuit()).toBe(true);
    await vi.waitFor(() => expect(electron.app.quitCount).toBe(1));
    expect(lines.some((l) => l.includes('disk gone'))).toBe(true);
  });

  it('explains a workspace it cannot use, and exits with 1', async () => {
    fs.writeFileSync(workspace, 'not a folder');
    await started();
    expect(electron.app.exitCode).toBe(1);
    expect(dialogErrors()).toHaveLength(1);
    expect(dialogErrors()[0].content).toMatch(/is a file, not a folder/);
    expect(FakeBrowserWindow.all).toHaveLength(0);
  });

  it('loads the dev server only in an unpackaged app', async () => {
    await started({ env: { QUANTLAB_WORKSPACE: workspace, ELECTRON_RENDERER_URL: 'http://localhost:5173' } });
    expect(FakeBrowserWindow.all[0].loadedUrl).toBe('http://localhost:5173/');

    resetElectronStub();
    electron.app.isPackaged = true;
    await started({ env: { QUANTLAB_WORKSPACE: workspace, ELECTRON_RENDERER_URL: 'http://localhost:5173' } });
    expect(FakeBrowserWindow.all[0].loadedUrl).toBeNull();
    expect(FakeBrowserWindow.all[0].loadedFile).toMatch(/index\.html$/);
  });
});

function dialogErrors() {
  return electron.dialog.errorBoxes;
}
