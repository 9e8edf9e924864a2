import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', async () => (await import('../../helpers/electron-stub')).electronModule);

import { electron, resetElectronStub } from '../../helpers/electron-stub';
import { channelNames, eventNames } from '../../../src/shared/api/contract';
import type { QuantLabBridge } from '../../../src/shared/api/envelope';
import { IPC_EVENT, IPC_INVOKE } from '../../../src/shared/ipc';
import { createBridge } from '../../../src/preload/bridge';

const { ipcRenderer } = electron;

/** What the preload exposed when it loaded (built-in names as electron.vite.config.ts defines them). */
let exposed: Record<string, unknown>;
/** A fresh bridge per test, with the contract's names. */
let api: QuantLabBridge;

beforeAll(async () => {
  resetElectronStub();
  vi.stubGlobal('__QUANTLAB_API_NAMES__', { channels: channelNames, events: eventNames });
  await import('../../../src/preload/index');
  vi.unstubAllGlobals();
  exposed = { ...electron.contextBridge.exposed };
});
beforeEach(() => {
  ipcRenderer.reset();
  api = createBridge({ channels: new Set(channelNames), events: new Set(eventNames) });
});

describe('preload bridge', () => {
  it("exposes exactly one key, 'api', with exactly transport, invoke and on", () => {
    expect(Object.keys(exposed)).toEqual(['api']);
    const bridge = exposed.api as QuantLabBridge;
    expect(Object.keys(bridge).sort()).toEqual(['invoke', 'on', 'transport']);
    expect(bridge.transport).toBe('electron');
    expect(typeof bridge.invoke).toBe('function');
    expect(typeof bridge.on).toBe('function');
    expect(Object.isFrozen(bridge)).toBe(true);
  });

  it('the exposed bridge knows the contract names defined at build time', async () => {
    const bridge = exposed.api as QuantLabBridge;
    for (const channel of channelNames) await bridge.invoke(channel, {});
    expect(ipcRenderer.invocations.map((i) => i.args[0])).toEqual(channelNames);
    expect(await bridge.invoke('fs.readFile', {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    expect(ipcRenderer.invocations).toHaveLength(channelNames.length);
  });

  it('sends a contract channel over IPC_INVOKE and returns the envelope', async () => {
    ipcRenderer.respond = async () => ({ ok: true, result: { name: 'QuantLab' } });
    await expect(api.invoke('app.info', {})).resolves.toEqual({ ok: true, result: { name: 'QuantLab' } });
    expect(ipcRenderer.invocations).toEqual([{ channel: IPC_INVOKE, args: ['app.info', {}] }]);
  });

  it.each(['fs.readFile', '', 'constructor', '__proto__', 'toString', 'app.info ', 'APP.INFO'])('never sends the unknown channel %j over IPC', async (channel) => {
    const envelope = await api.invoke(channel, {});
    expect(envelope).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    expect(ipcRenderer.invocations).toEqual([]);
  });

  it('rejects non-string channels locally too', async () => {
    for (const channel of [42, null, undefined, { toString: () => 'app.info' }]) {
      expect(await api.invoke(channel as unknown as string, {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    }
    expect(ipcRenderer.invocations).toEqual([]);
  });

  it('turns an IPC failure into a transport envelope instead of throwing', async () => {
    ipcRenderer.respond = async () => {
      throw new Error('An object could not be cloned.');
    };
    await expect(api.invoke('app.info', {})).resolves.toMatchObject({ ok: false, error: { code: 'transport', message: expect.stringContaining('could not be cloned') } });
  });

  it('gives the listener only the payload of its own event', () => {
    const seen: unknown[][] = [];
    api.on('job.progress', (...args: unknown[]) => seen.push(args));
    ipcRenderer.deliver(IPC_EVENT, 'job.progress', { jobId: 'a', done: 1 });
    ipcRenderer.deliver(IPC_EVENT, 'device.changed', { serial: 'x' });
    ipcRenderer.deliver('some-other-channel', 'job.progress', { jobId: 'b' });
    expect(seen).toEqual([[{ jobId: 'a', done: 1 }]]);
  });

  it('unsubscribes, once and for good', () => {
    const listener = vi.fn();
    const off = api.on('device.changed', listener);
    expect(ipcRenderer.listenerCount(IPC_EVENT)).toBe(1);
    ipcRenderer.deliver(IPC_EVENT, 'device.changed', 1);
    off();
    off();
    ipcRenderer.deliver(IPC_EVENT, 'device.changed', 2);
    expect(listener.mock.calls).toEqual([[1]]);
    expect(ipcRenderer.listenerCount(IPC_EVENT)).toBe(0);
  });

  it('uses one IPC listener however many subscriptions there are', () => {
    const offs = Array.from({ length: 25 }, (_, i) => api.on(i % 2 ? 'job.progress' : 'device.changed', () => {}));
    expect(ipcRenderer.listenerCount(IPC_EVENT)).toBe(1);
    for (const off of offs) off();
    expect(ipcRenderer.listenerCount(IPC_EVENT)).toBe(0);
  });

  it('keeps delivering to the others when one listener throws', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const after = vi.fn();
    api.on('job.progress', () => {
      throw new Error('component bug');
    });
    api.on('job.progress', after);
    ipcRenderer.deliver(IPC_EVENT, 'job.progress', 7);
    expect(after).toHaveBeenCalledWith(7);
    expect(error).toHaveBeenCalledTimes(1);
    error.mockRestore();
  });

  it('counts the same function subscribed twice as two subscriptions', () => {
    const listener = vi.fn();
    const offA = api.on('job.progress', listener);
    api.on('job.progress', listener);
    ipcRenderer.deliver(IPC_EVENT, 'job.progress', 1);
    offA();
    ipcRenderer.deliver(IPC_EVENT, 'job.progress', 2);
    expect(listener.mock.calls).toEqual([[1], [1], [2]]);
  });

  it('keeps two subscriptions to one event independent', () => {
    const a = vi.fn();
    const b = vi.fn();
    const offA = api.on('job.progress', a);
    api.on('job.progress', b);
    offA();
    ipcRenderer.deliver(IPC_EVENT, 'job.progress', 'p');
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledWith('p');
  });

  it('never listens for events that are not in the contract (like the web bridge, they never fire)', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const listener = vi.fn();
    const off = api.on('ipc.anything', listener);
    expect(ipcRenderer.listenerCount(IPC_EVENT)).toBe(0);
    ipcRenderer.deliver(IPC_EVENT, 'ipc.anything', 1);
    expect(listener).not.toHaveBeenCalled();
    expect(() => off()).not.toThrow();
    expect(warn.mock.calls[0][0]).toMatch(/Unknown API event 'ipc.anything'/);
    warn.mockRestore();
  });

  it('refuses listeners that are not functions', () => {
    expect(() => api.on('job.progress', 'x' as unknown as () => void)).toThrow(/must be a function/);
    expect(ipcRenderer.listenerCount(IPC_EVENT)).toBe(0);
  });

  it('knows every channel and event of the contract', async () => {
    for (const channel of channelNames) await api.invoke(channel, {});
    expect(ipcRenderer.invocations.map((i) => i.args[0])).toEqual(channelNames);
    for (const event of eventNames) expect(() => api.on(event, () => {})()).not.toThrow();
  });

  it('fails closed when built without the contract names', async () => {
    const closed = createBridge();
    expect(await closed.invoke('app.info', {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    closed.on('job.progress', () => {});
    warn.mockRestore();
    expect(ipcRenderer.listenerCount(IPC_EVENT)).toBe(0);
    expect(ipcRenderer.invocations).toEqual([]);
  });
});
