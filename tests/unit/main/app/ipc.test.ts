import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', async () => (await import('../../../helpers/electron-stub')).electronModule);

import { electron, FakeBrowserWindow, FakeWebContents, type FakeWebFrameMain, resetElectronStub } from '../../../helpers/electron-stub';
import { IPC_EVENT, IPC_INVOKE } from '../../../../src/shared/ipc';
import type { Envelope } from '../../../../src/shared/api/envelope';
import { createServices, type Services } from '../../../../src/main/services';
import { appPaths, createAppOrigin } from '../../../../src/main/app/paths';
import { registerIpc } from '../../../../src/main/app/ipc';

const paths = appPaths(path.resolve('/opt/quantlab'));
const appPage = pathToFileURL(paths.rendererIndex).href;
const origin = createAppOrigin(paths, null);

let workspaceDir: string;
let services: Services;
let log: ReturnType<typeof vi.fn<(line: string) => void>>;
let dispose: () => void;
let win: FakeBrowserWindow;

/** Our window, showing our page. */
function ourWindow(url = appPage): FakeBrowserWindow {
  const w = new FakeBrowserWindow();
  w.webContents.mainFrame.url = url;
  return w;
}

function call(sender: FakeWebContents, frame: FakeWebFrameMain | null, channel: unknown, payload?: unknown): Promise<Envelope> {
  return electron.ipcMain.invoke(IPC_INVOKE, { sender, senderFrame: frame }, channel, payload) as Promise<Envelope>;
}

beforeEach(() => {
  resetElectronStub();
  workspaceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlab-ipc-'));
  services = createServices({ workspaceDir, transport: 'electron', electronVersion: '45.5.0', log: () => {} });
  log = vi.fn<(line: string) => void>();
  dispose = registerIpc({ services, origin, log });
  win = ourWindow();
});
afterEach(async () => {
  dispose();
  await services.close();
  fs.rmSync(workspaceDir, { recursive: true, force: true });
});

describe('IPC sender check', () => {
  it("serves our window's main frame", async () => {
    const spy = vi.spyOn(services, 'call');
    const envelope = await call(win.webContents, win.webContents.mainFrame, 'app.info', {});
    expect(spy).toHaveBeenCalledWith('app.info', {});
    expect(envelope).toMatchObject({ ok: true, result: { name: 'QuantLab', transport: 'electron', workspaceDir, electronVersion: '45.5.0' } });
    expect(log).not.toHaveBeenCalled();
  });

  it.each([
    ['a remote page', 'https://evil.example/'],
    ['a file outside the renderer', pathToFileURL('/tmp/evil.html').href],
    ['a sibling folder named like the renderer', pathToFileURL(`${paths.rendererDir}-x/index.html`).href],
    ['the dev server when not in dev', 'http://localhost:5173/'],
    ['about:blank', 'about:blank'],
  ])('refuses %s with a forbidden envelope, without calling the services', async (_name, url) => {
    const spy = vi.spyOn(services, 'call');
    const foreign = ourWindow(url);
    const envelope = await call(foreign.webContents, foreign.webContents.mainFrame, 'app.info', {});
    expect(envelope).toEqual({ ok: false, error: { code: 'forbidden', message: expect.stringMatching(/not allowed/) } });
    expect(spy).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toContain("refused IPC call 'app.info'");
  });

  it('refuses a sub-frame, even one showing our page', async () => {
    const spy = vi.spyOn(services, 'call');
    const frame = win.webContents.addSubframe(appPage);
    expect((await call(win.webContents, frame, 'app.info', {})).ok).toBe(false);
    expect(spy).not.toHaveBeenCalled();
    expect(log.mock.calls[0][0]).toMatch(/sub-frame/);
  });

  it('refuses web contents that are not one of our windows', async () => {
    const stray = new FakeWebContents(appPage);
    const envelope = await call(stray, stray.mainFrame, 'app.info', {});
    expect(envelope).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('refuses when the sending frame is gone', async () => {
    const envelope = await call(win.webContents, null, 'app.info', {});
    expect(envelope).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(log.mock.calls[0][0]).toMatch(/frame is gone/);
  });

  it('refuses a window that was closed', async () => {
    const contents = win.webContents;
    win.destroy();
    expect((await call(contents, contents.mainFrame, 'app.info', {})).ok).toBe(false);
  });

  it('trusts the dev server origin in development', async () => {
    dispose();
    dispose = registerIpc({ services, origin: createAppOrigin(paths, 'http://localhost:5173/'), log });
    const dev = ourWindow('http://localhost:5173/#/models');
    expect((await call(dev.webContents, dev.webContents.mainFrame, 'app.info', {})).ok).toBe(true);
    expect((await call(win.webContents, win.webContents.mainFrame, 'app.info', {})).ok).toBe(false);
  });
});

describe('IPC payloads go through the services validation', () => {
  it("answers a bad payload to 'app.info' with bad-request", async () => {
    const envelope = await call(win.webContents, win.webContents.mainFrame, 'app.info', { extra: 1 });
    expect(envelope).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await call(win.webContents, win.webContents.mainFrame, 'app.info', 'a string')).toMatchObject({ ok: false, error: { code: 'bad-request' } });
  });

  it('answers an unknown channel with unknown-channel', async () => {
    expect(await call(win.webContents, win.webContents.mainFrame, 'fs.readFile', { path: '/etc/passwd' })).toMatchObject({
      ok: false,
      error: { code: 'unknown-channel' },
    });
    expect(await call(win.webContents, win.webContents.mainFrame, 42, {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    expect(await call(win.webContents, win.webContents.mainFrame, '__proto__', {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
  });

  it('accepts a missing payload as an empty request', async () => {
    expect((await call(win.webContents, win.webContents.mainFrame, 'app.info')).ok).toBe(true);
  });

  it('turns a throwing services.call into an internal envelope', async () => {
    vi.spyOn(services, 'call').mockRejectedValueOnce(new Error('boom'));
    expect(await call(win.webContents, win.webContents.mainFrame, 'app.info', {})).toMatchObject({ ok: false, error: { code: 'internal' } });
  });
});

describe('events', () => {
  // A bus of our own: the contract's event schemas are not this test's business.
  type Listener = Parameters<Services['events']['subscribe']>[0];
  const listeners = new Set<Listener>();
  const bus = {
    subscribe(listener: Listener): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    emit(event: Parameters<Listener>[0], payload: unknown) {
      for (const l of listeners) l(event, payload);
    },
  };
  const payload = { jobId: 'j1', stage: 'calibrate', done: 3, total: 10 };

  beforeEach(() => {
    dispose();
    listeners.clear();
    dispose = registerIpc({ services: { call: services.call, events: bus }, origin, log });
  });

  it('forwards every services event to every window as (event, payload)', () => {
    const other = ourWindow();
    bus.emit('job.progress', payload);
    for (const w of [win, other]) expect(w.webContents.sent).toEqual([{ channel: IPC_EVENT, args: ['job.progress', payload] }]);
  });

  it('subscribes to the real services bus', () => {
    dispose();
    const subscribe = vi.spyOn(services.events, 'subscribe');
    dispose = registerIpc({ services, origin, log });
    expect(subscribe).toHaveBeenCalledTimes(1);
  });

  it('skips destroyed windows', () => {
    const other = ourWindow();
    other.destroy();
    bus.emit('device.changed', { serial: 'emulator-5554' });
    expect(win.webContents.sent).toHaveLength(1);
    expect(other.webContents.sent).toHaveLength(0);
  });

  it('stops forwarding and handling once disposed', () => {
    dispose();
    bus.emit('job.progress', payload);
    expect(win.webContents.sent).toHaveLength(0);
    expect(listeners.size).toBe(0);
    expect(electron.ipcMain.handlers.has(IPC_INVOKE)).toBe(false);
    dispose = registerIpc({ services, origin, log });
  });
});
