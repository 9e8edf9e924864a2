/**
 * `quantlab devices`: the phones on the adb server(s), with their state, facts and, for a device
 * that is not ready, what to do about it. Reads only (no workspace is needed or created).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '../../core/errors';
import { AdbServerClient } from '../../main/devices/adb';
import { parseServerAddress, resolveAdbServers, type AdbServerAddress } from '../../main/devices/servers';
import { DeviceService, type DeviceListing } from '../../main/devices/service';
import type { CliContext } from '../context';

/** `--adb-server` may be given several times (or comma-separated). */
export function collectServers(value: string, previous: string[] = []): string[] {
  for (const v of value.split(',')) {
    try {
      parseServerAddress(v);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  }
  return [...previous, value];
}

export function serversFromFlag(flag: string[] | undefined): AdbServerAddress[] {
  return resolveAdbServers({ flag: flag && flag.length ? flag : undefined });
}

const dash = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? '-' : String(v));

export function printListing(ctx: CliContext, listing: DeviceListing): void {
  for (const s of listing.servers) {
    if (!s.ok) ctx.warn(`adb server ${s.address}: ${s.error}`);
    else if (s.started) ctx.warn(`Started the adb server at ${s.address}.`);
  }
  if (listing.devices.length === 0) {
    if (listing.servers.some((s) => s.ok)) ctx.print('No devices. Plug a phone in with USB debugging on (Settings → Developer options), or `adb connect HOST:PORT` a network one.');
    return;
  }
  const rows = listing.devices.map((d) => [d.serial, d.state, dash(d.facts?.model), dash(d.facts?.sdk), dash(d.facts?.abi), d.server]);
  const head = ['SERIAL', 'STATE', 'MODEL', 'SDK', 'ABI', 'SERVER'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  ctx.print(line(head));
  listing.devices.forEach((d, k) => {
    ctx.print(line(rows[k]));
    if (d.hint) ctx.print(`  → ${d.hint}`);
    else if (d.factsError) ctx.print(`  → facts unavailable: ${d.factsError}`);
  });
}

export function registerDevices(program: Command, context: () => CliContext): void {
  program
    .command('devices')
    .description('list the Android devices on the adb server(s): state, model, SDK, ABI, and what to do when one is not ready')
    .option('--adb-server <host:port>', 'adb server to use (repeatable; default $ANDROID_ADB_SERVER_PORT or 127.0.0.1:5037, started when needed)', collectServers, [])
    .option('--connect <host:port>', 'first `adb connect` a network device (or a simulated one) through the server')
    .action(async (opts: { adbServer: string[]; connect?: string }) => {
      const ctx = context();
      const servers = serversFromFlag(opts.adbServer);
      const service = new DeviceService({ servers });
      if (opts.connect) {
        const m = /^(.+):(\d{1,5})$/.exec(opts.connect);
        if (!m) throw new UserError('bad-argument', `'${opts.connect}' is not HOST:PORT.`);
        const r = await new AdbServerClient(servers[0]).connect(m[1], Number(m[2]));
        ctx.warn(r.message);
      }
      const listing = await service.list({ facts: true });
      if (ctx.json) ctx.printJson(listing);
      else printListing(ctx, listing);
      ctx.exitCode = listing.servers.some((s) => s.ok) ? 0 : 1;
    });
}
