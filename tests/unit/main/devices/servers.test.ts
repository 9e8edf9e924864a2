import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureAdbServer, parseServerAddress, resolveAdbServers } from '../../../../src/main/devices/servers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-adbsrv-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A port nothing listens on (bound, then released), outside the emulator range 5554–5585. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('adb servers', () => {
  it('parses addresses and refuses the rest with a sentence', () => {
    expect(parseServerAddress('127.0.0.1:5037')).toMatchObject({ host: '127.0.0.1', port: 5037, label: '127.0.0.1:5037' });
    expect(parseServerAddress('5038')).toMatchObject({ host: '127.0.0.1', port: 5038 });
    expect(parseServerAddress('lab-box.local:15037')).toMatchObject({ host: 'lab-box.local', port: 15037 });
    expect(parseServerAddress('[::1]:5037')).toMatchObject({ host: '::1', port: 5037 });
    for (const bad of ['', 'host', 'host:', ':0', 'a:99999', 'a b:1', '1.2.3.4:5037:1']) expect(() => parseServerAddress(bad), bad).toThrow(/not an adb server address/);
  });

  it('resolves flag → setting → ANDROID_ADB_SERVER_PORT → 5037', () => {
    expect(resolveAdbServers({ flag: ['10.0.0.5:5037,127.0.0.1:6000', '127.0.0.1:6000'], env: {} }).map((s) => [s.label, s.source])).toEqual([
      ['10.0.0.5:5037', 'flag'],
      ['127.0.0.1:6000', 'flag'],
    ]);
    expect(resolveAdbServers({ setting: ['127.0.0.1:7000'], env: { ANDROID_ADB_SERVER_PORT: '6001' } })[0]).toMatchObject({ label: '127.0.0.1:7000', source: 'setting' });
    expect(resolveAdbServers({ env: { QUANTLAB_ADB_SERVERS: '127.0.0.1:7001' } })[0]).toMatchObject({ label: '127.0.0.1:7001', source: 'setting' });
    expect(resolveAdbServers({ env: { ANDROID_ADB_SERVER_PORT: '6001' } })[0]).toMatchObject({ label: '127.0.0.1:6001', source: 'env' });
    expect(resolveAdbServers({ env: {} })[0]).toMatchObject({ label: '127.0.0.1:5037', source: 'default' });
    expect(() => resolveAdbServers({ env: { ANDROID_ADB_SERVER_PORT: 'abc' } })).toThrow(/ANDROID_ADB_SERVER_PORT/);
  });

  it('starts the default server with `adb -P PORT start-server` when nothing listens, and never a named one', async () => {
    const port = await closedPort();
    const log = path.join(tmp, 'calls');
    const fakeAdb = path.join(tmp, 'adb');
    // A stand-in for adb that records its arguments and starts nothing.
    fs.writeFileSync(fakeAdb, `#!/bin/sh\necho "$@" >> '${log}'\n`, { mode: 0o755 });

    const envStatus = await ensureAdbServer({ host: '127.0.0.1', port, label: `127.0.0.1:${port}`, source: 'env' }, { adbBinary: fakeAdb });
    expect(fs.readFileSync(log, 'utf8')).toBe(`-P ${port} start-server\n`);
    expect(envStatus).toMatchObject({ ok: false, started: true });
    expect(envStatus.error).toMatch(/start-server/);

    const named = await ensureAdbServer({ host: '127.0.0.1', port, label: `127.0.0.1:${port}`, source: 'flag' }, { adbBinary: fakeAdb });
    expect(named).toMatchObject({ ok: false, started: false });
    expect(named.error).toMatch(/No adb server answers at 127\.0\.0\.1:\d+/);
    expect(fs.readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);

    const noAdb = await ensureAdbServer({ host: '127.0.0.1', port, label: `127.0.0.1:${port}`, source: 'default' }, { adbBinary: null });
    expect(noAdb.error).toMatch(/no `adb` program was found/);
  });
});
