/**
 * The device service through real adb servers: two private servers, simulated phones attached
 * with `adb connect` (adbkit), the live list through the services and the EventBus, a phone that
 * waits for authorisation and then gets it, a phone unplugged, `exec:` and quoting end to end.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellCommand } from '../../../src/main/devices/quote';
import { DeviceService } from '../../../src/main/devices/service';
import { createServices, type Services } from '../../../src/main/services';
import { DeviceListing, type DeviceChanged } from '../../../src/shared/api/contract';
import type { SimHandle } from '../../fixtures/sim-device/client';
import { attachSim, startAdbServer, waitFor, waitForState, type AdbServerHandle } from './harness';

let a: AdbServerHandle;
let b: AdbServerHandle;
let ready: SimHandle;
let locked: SimHandle;
let services: Services;
const events: DeviceChanged[] = [];
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-devices-'));

beforeAll(async () => {
  [a, b] = await Promise.all([startAdbServer(), startAdbServer()]);
  services = createServices({ workspaceDir: workspace, transport: 'web', adbServers: [a.address.label, b.address.label], log: () => {} });
  services.events.subscribe((event, payload) => {
    if (event === 'device.changed') events.push(payload as DeviceChanged);
  });
  // Live tracking starts with the first listing, before any phone is attached.
  const first = await services.call('devices.list', { facts: false });
  expect(first).toMatchObject({ ok: true });
  [ready, locked] = await Promise.all([attachSim(a, { scenario: { durationMs: 10 } }), attachSim(b, { auth: 'on' })]);
}, 60_000);

afterAll(async () => {
  await services?.close();
  await Promise.all([ready?.stop(), locked?.stop()]);
  await Promise.all([a?.stop(), b?.stop()]);
  fs.rmSync(workspace, { recursive: true, force: true });
});

describe('devices over real adb servers', () => {
  it('lists every phone labelled by its server, with facts and a helpful line for the locked one', async () => {
    const env = await services.call('devices.list', {});
    expect(env.ok).toBe(true);
    const listing = DeviceListing.parse((env as { result: unknown }).result);
    expect(listing.servers.map((s) => [s.address, s.ok, s.version])).toEqual([
      [a.address.label, true, 41],
      [b.address.label, true, 41],
    ]);
    const phone = listing.devices.find((d) => d.serial === ready.serial)!;
    expect(phone).toMatchObject({ server: a.address.label, state: 'device', status: 'device', hint: null, transport: 'tcp', factsError: null });
    expect(phone.facts).toMatchObject({
      model: 'SimPhone 7',
      manufacturer: 'QuantLab',
      soc: 'GS201',
      platform: 'gs201',
      abi: 'arm64-v8a',
      androidVersion: '14',
      sdk: 34,
      nnapi: { featureLevel: 7, version: 'NNAPI feature level 7' },
    });
    const other = listing.devices.find((d) => d.serial === locked.serial)!;
    expect(other).toMatchObject({ server: b.address.label, state: 'unauthorized', status: 'unauthorized', facts: null });
    expect(other.hint).toMatch(/^Unlock the phone and allow USB debugging/);
  });

  it('emits device.changed: added (adb shows a new TCP link offline for a moment), then unauthorized → device when the user allows it', async () => {
    await waitFor('the phones to be reported', () => events.some((e) => e.serial === ready.serial && e.state === 'device') && events.some((e) => e.serial === locked.serial && e.state === 'unauthorized'));
    expect(events.find((e) => e.serial === ready.serial)).toMatchObject({ server: a.address.label, change: 'added' });
    expect(events.find((e) => e.serial === locked.serial)).toMatchObject({ server: b.address.label, change: 'added' });
    expect(events.filter((e) => e.serial === locked.serial).some((e) => e.state === 'device')).toBe(false);
    const authorized = await locked.command<number>('authorize');
    expect(authorized).toBe(1);
    await waitFor('the authorized event', () => events.some((e) => e.serial === locked.serial && e.change === 'changed' && e.state === 'device'), 10_000);
    const got = await services.call('devices.get', { serial: locked.serial });
    expect(got).toMatchObject({ ok: true, result: { server: b.address.label, status: 'device', facts: { model: 'SimPhone 7' } } });
    // Signed once allowed: a dropped link comes back without asking the user again.
    await locked.command('drop');
    await waitForState(b, locked.serial, 'device');
    expect((await locked.stats()).authRequests).toBe(1);
  });

  it('names the device that is missing, and the ones that are there', async () => {
    const env = await services.call('devices.get', { serial: 'no-such-phone' });
    expect(env).toMatchObject({ ok: false, error: { code: 'user-error', kind: 'device-not-found' } });
    expect((env as { error: { message: string } }).error.message).toContain(ready.serial);
  });

  it('carries hostile strings to the phone as single arguments, and runs exec: services', async () => {
    const hostile = ["it's", '$(touch /data/local/tmp/pwned)', '`id`', '; echo injected', 'a && b', 'x | y', '*', '~', 'a\nb', '"q"', '\\'];
    const r = await a.client.shell(ready.serial, shellCommand(['echo', ...hostile]), { timeoutMs: 10_000 });
    expect(r).toEqual({ output: hostile.join(' ') + '\n', exitCode: 0 });
    const stats = await ready.stats();
    expect(stats.execs).toContainEqual(['echo', ...hostile]);
    expect(stats.unsafe).toEqual([]);

    // exec: through the server's host protocol: host:transport:SERIAL, then exec:CMD (raw output).
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(a.port, '127.0.0.1');
      const send = (s: string) => sock.write(s.length.toString(16).padStart(4, '0') + s);
      let buf = Buffer.alloc(0);
      let stage = 0;
      sock.on('connect', () => send(`host:transport:${ready.serial}`));
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (stage < 2 && buf.length >= 4) {
          if (buf.subarray(0, 4).toString() !== 'OKAY') return reject(new Error(`adb said ${buf.toString()}`));
          buf = buf.subarray(4);
          stage++;
          if (stage === 1) send(`exec:getprop ro.product.model`);
        }
      });
      sock.on('end', () => resolve(buf.toString()));
      sock.on('error', reject);
    });
    expect(raw).toBe('SimPhone 7\n');
    expect((await ready.stats()).opens).toContain('exec:getprop ro.product.model');
  });

  it('speaks sync: STAT, STA2, LIST, SEND and RECV through the real server', async () => {
    const device = a.client.device(ready.serial);
    const data = Buffer.from('x'.repeat(100_000) + 'end');
    await a.client.push(ready.serial, data, '/data/local/tmp/sync/blob', 0o640, 10_000);
    const st = await device.stat('/data/local/tmp/sync/blob');
    expect([st.size, st.mode & 0o777, st.isFile()]).toEqual([data.length, 0o640, true]);
    const sync = await device.syncService();
    try {
      const st2 = await sync.sta2('/data/local/tmp/sync/blob');
      expect([Number(st2.size), st2.mode & 0o777]).toEqual([data.length, 0o640]);
      expect((await sync.readdir('/data/local/tmp/sync')).map((e: { name: string }) => e.name)).toEqual(['blob']);
    } finally {
      sync.end();
    }
    const pulled = await new Promise<Buffer>((resolve, reject) => {
      void device.pull('/data/local/tmp/sync/blob').then((t: NodeJS.EventEmitter) => {
        const chunks: Buffer[] = [];
        t.on('data', (c: Buffer) => chunks.push(c));
        t.on('end', () => resolve(Buffer.concat(chunks)));
        t.on('error', reject);
      }, reject);
    });
    expect(pulled.equals(data)).toBe(true);
    // The shell user may not write outside /data/local/tmp and /sdcard: the device answers FAIL.
    await expect(a.client.push(ready.serial, data, '/system/blob', 0o644, 10_000)).rejects.toMatchObject({ code: 'device-push-failed', message: expect.stringMatching(/Permission denied/) });
  });

  it('shows an unplugged phone offline with what to do, and a server that is down', async () => {
    const from = events.length;
    await ready.command('unplug');
    await waitFor('the offline event', () => events.slice(from).some((e) => e.serial === ready.serial && e.change === 'changed' && e.state === 'offline'), 15_000);
    const service = new DeviceService({ servers: [a.address, { host: '127.0.0.1', port: 1, label: '127.0.0.1:1', source: 'flag' }] });
    const listing = await service.list();
    expect(listing.servers[1]).toMatchObject({ ok: false, started: false });
    expect(listing.servers[1].error).toMatch(/No adb server answers at 127\.0\.0\.1:1/);
    const gone = listing.devices.find((d) => d.serial === ready.serial)!;
    expect(gone).toMatchObject({ state: 'offline', status: 'offline', facts: null });
    expect(gone.hint).toMatch(/network link/);
    await ready.command('replug');
  });
});
