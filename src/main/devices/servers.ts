/**
 * Which adb servers QuantLab talks to, and starting the default one when it is not running.
 *
 * Order: `--adb-server HOST:PORT` (repeatable, or comma-separated) → the setting (services option
 * `adbServers`, or `$QUANTLAB_ADB_SERVERS`) → `$ANDROID_ADB_SERVER_PORT` on 127.0.0.1 → 127.0.0.1:5037.
 * Only the last two (a server the user did not name) are started with `adb -P PORT start-server`
 * when an `adb` binary is found and nothing listens; a named server is used as it is.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { UserError } from '../../core/errors';
import { findOnPath } from '../services/environment';
import { AdbServerClient, type AdbEndpoint } from './adb';

export const DEFAULT_ADB_PORT = 5037;

export interface AdbServerAddress extends AdbEndpoint {
  /** `host:port`, the label every device carries. */
  label: string;
  source: 'flag' | 'setting' | 'env' | 'default';
}

export function parseServerAddress(text: string, source: AdbServerAddress['source'] = 'flag'): AdbServerAddress {
  const t = text.trim();
  const m = /^(\d{1,5})$/.exec(t) ?? /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(t);
  const host = !m ? null : m.length === 2 ? '127.0.0.1' : (m[1] ?? m[2]);
  const port = !m ? NaN : Number(m[m.length - 1]);
  if (!host || !(port > 0 && port < 65536)) {
    throw new UserError('bad-argument', `'${text}' is not an adb server address: give HOST:PORT (e.g. 127.0.0.1:5037) or a port.`);
  }
  return { host, port, label: `${host}:${port}`, source };
}

function splitList(values: readonly string[] | string | undefined): string[] {
  if (values === undefined) return [];
  const list = typeof values === 'string' ? [values] : values;
  return list.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

export function resolveAdbServers(options: { flag?: readonly string[] | string; setting?: readonly string[] | string; env?: NodeJS.ProcessEnv } = {}): AdbServerAddress[] {
  const env = options.env ?? process.env;
  const unique = (list: AdbServerAddress[]) => list.filter((a, i) => list.findIndex((b) => b.label === a.label) === i);
  const flag = splitList(options.flag);
  if (flag.length) return unique(flag.map((f) => parseServerAddress(f, 'flag')));
  const setting = splitList(options.setting ?? env.QUANTLAB_ADB_SERVERS);
  if (setting.length) return unique(setting.map((f) => parseServerAddress(f, 'setting')));
  const envPort = env.ANDROID_ADB_SERVER_PORT?.trim();
  if (envPort) {
    if (!/^\d{1,5}$/.test(envPort) || Number(envPort) < 1 || Number(envPort) > 65535) {
      throw new UserError('bad-argument', `ANDROID_ADB_SERVER_PORT is '${envPort}', which is not a port number.`);
    }
    return [{ host: '127.0.0.1', port: Number(envPort), label: `127.0.0.1:${envPort}`, source: 'env' }];
  }
  return [{ host: '127.0.0.1', port: DEFAULT_ADB_PORT, label: `127.0.0.1:${DEFAULT_ADB_PORT}`, source: 'default' }];
}

export function isLocalHost(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}

/** Whether something accepts TCP connections at the address. */
export function listening(address: AdbEndpoint, timeoutMs = 1_500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.host, port: address.port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface ServerStatus {
  address: string;
  source: AdbServerAddress['source'];
  ok: boolean;
  /** The server's protocol version (41 for adb 1.0.41). */
  version: number | null;
  /** QuantLab started it (`adb -P PORT start-server`) during this call. */
  started: boolean;
  error: string | null;
}

export interface EnsureOptions {
  /** Path of `adb`; default: found on PATH. null: never start a server. */
  adbBinary?: string | null;
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

function startServer(adb: string, port: number, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(adb, ['-P', String(port), 'start-server'], { timeout: timeoutMs, env, windowsHide: true }, (error, stdout, stderr) => {
      resolve(error ? `${error.message.split('\n')[0]} ${String(stderr ?? '').trim()}`.trim() : null);
      void stdout;
    });
  });
}

/**
 * Checks that an adb server answers; starts it first when it is the default local one, nothing
 * listens, and an `adb` binary is found. Never throws: the status says what went wrong.
 */
export async function ensureAdbServer(address: AdbServerAddress, options: EnsureOptions = {}): Promise<ServerStatus> {
  const status: ServerStatus = { address: address.label, source: address.source, ok: false, version: null, started: false, error: null };
  const mayStart = (address.source === 'default' || address.source === 'env') && isLocalHost(address.host);
  if (!(await listening(address))) {
    const adb = options.adbBinary === undefined ? findOnPath(['adb'], options.env) : options.adbBinary;
    if (!mayStart || !adb) {
      status.error = mayStart
        ? `No adb server answers at ${address.label} and no \`adb\` program was found to start one: install it (\`apt-get install adb\`, or Android SDK platform-tools).`
        : `No adb server answers at ${address.label}: start it there (\`adb -P ${address.port} start-server\`) or check the address.`;
      return status;
    }
    const failure = await startServer(adb, address.port, options.startTimeoutMs ?? 20_000, options.env ?? process.env);
    status.started = true;
    if (failure || !(await listening(address))) {
      status.error = `QuantLab ran \`${adb} -P ${address.port} start-server\` but no adb server answers at ${address.label}${failure ? ` (${failure})` : ''}.`;
      return status;
    }
  }
  try {
    status.version = await new AdbServerClient(address).version();
    status.ok = true;
  } catch (e) {
    status.error = (e as Error).message;
  }
  return status;
}
