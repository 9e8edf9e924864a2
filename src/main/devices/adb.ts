/**
 * The only file that talks to adbkit: one `AdbServerClient` per adb server, with every step
 * bounded in time and every failure turned into a `DeviceError` sentence.
 *
 * Shell commands go through adbkit's `shell()`, which uses the `shell:` service (output and errors
 * merged, no exit status), so the status is appended as a marker and parsed back. A stream that ends
 * without the marker means the link died mid-command (a phone unplugged).
 */
import adbkit from '@devicefarmer/adbkit';
import type { Client, DeviceClient } from '@devicefarmer/adbkit';
import type { EventEmitter } from 'node:events';
import { Readable, type Duplex } from 'node:stream';
import { UserError } from '../../core/errors';
import { stateHint } from './facts';

// adbkit is CommonJS: under Node's ESM loader the default import is the whole exports object.
const Adb = ((adbkit as unknown as { Adb?: typeof adbkit }).Adb ?? adbkit) as typeof adbkit;

/**
 * adbkit starts `adb start-server` by itself when a connection is refused. QuantLab decides that
 * itself (servers.ts: only for the default local server), so adbkit gets a binary that cannot exist.
 */
const NO_AUTOSTART_BIN = '/nonexistent/quantlab-adbkit-never-starts-adb';

export interface AdbEndpoint {
  host: string;
  port: number;
}

export const endpointLabel = (e: AdbEndpoint) => `${e.host}:${e.port}`;

export type DeviceErrorKind = 'no-server' | 'not-found' | 'offline' | 'unauthorized' | 'timeout' | 'link-lost' | 'push-failed' | 'adb';

/** A device-side failure a user can act on (a phone gone, a server down, a step too slow). */
export class DeviceError extends UserError {
  constructor(
    readonly kind: DeviceErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`device-${kind}`, message, options);
    this.name = 'DeviceError';
  }
}

export interface AdbDevice {
  serial: string;
  /** What adb printed: device, offline, unauthorized, authorizing, no permissions, … */
  state: string;
}

export interface ShellResult {
  /** Everything the command printed (stdout and stderr merged), without the status marker. */
  output: string;
  /** The command's exit status; null when the link ended before the command did. */
  exitCode: number | null;
}

const RC_MARKER = '__QL_RC=';
const RC_RE = /__QL_RC=(\d+)\s*$/;

export function withRcMarker(command: string): string {
  return `${command}; echo ${RC_MARKER}$?`;
}

export function parseRcMarker(text: string): ShellResult {
  const m = RC_RE.exec(text);
  if (!m) return { output: text, exitCode: null };
  return { output: text.slice(0, m.index), exitCode: Number(m[1]) };
}

/** adbkit's transfer and tracker objects (its Bluebird-based typings do not resolve here). */
interface AdbkitTransfer extends EventEmitter {
  cancel(): void;
}
interface AdbkitTracker extends EventEmitter {
  end(): void;
}

function describe(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

export class AdbServerClient {
  readonly client: Client;
  readonly label: string;

  constructor(readonly endpoint: AdbEndpoint) {
    this.client = Adb.createClient({ host: endpoint.host, port: endpoint.port, bin: NO_AUTOSTART_BIN });
    // adbkit re-emits connection errors on the client; they are handled where each call fails.
    this.client.on('error', () => {});
    this.label = endpointLabel(endpoint);
  }

  /** Turns an adbkit failure into a sentence about this server and device. */
  private mapError(e: unknown, serial: string | null, step: string): DeviceError {
    if (e instanceof DeviceError) return e;
    const msg = describe(e);
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || /ECONNREFUSED|quantlab-adbkit-never-starts-adb/.test(msg)) {
      return new DeviceError('no-server', `No adb server answers at ${this.label}: start one (\`adb start-server\`) or give the right address with --adb-server HOST:PORT.`, { cause: e });
    }
    if (code === 'ECONNRESET' || code === 'EPIPE' || /ECONNRESET|EPIPE/.test(msg)) {
      return new DeviceError('link-lost', `The adb server at ${this.label} closed the connection during ${step}${serial ? ` on '${serial}'` : ''}.`, { cause: e });
    }
    if (serial) {
      if (/device '.*' not found|device not found/i.test(msg)) {
        return new DeviceError('not-found', `The device '${serial}' is not connected to the adb server at ${this.label} (it was unplugged, or it is attached to another server).`, { cause: e });
      }
      if (/device offline/i.test(msg)) return new DeviceError('offline', `The device '${serial}' is offline: ${stateHint('offline', serial)}`, { cause: e });
      if (/unauthorized/i.test(msg)) return new DeviceError('unauthorized', `The device '${serial}' is unauthorized: ${stateHint('unauthorized', serial)}`, { cause: e });
      if (/Premature end of stream|closed/i.test(msg)) {
        return new DeviceError('link-lost', `The link to '${serial}' ended during ${step}: the phone was unplugged or adb lost it.`, { cause: e });
      }
    }
    return new DeviceError('adb', `adb (${this.label}) failed during ${step}${serial ? ` on '${serial}'` : ''}: ${msg.replace(/^Failure: /, '')}`, { cause: e });
  }

  /** Runs an adbkit call with a time limit and error sentences. */
  private async bounded<T>(step: string, serial: string | null, timeoutMs: number, call: () => PromiseLike<T>, onTimeout?: () => void): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout?.();
        reject(new DeviceError('timeout', `${step}${serial ? ` on '${serial}'` : ''} did not finish within ${formatSeconds(timeoutMs)} (adb server ${this.label}).`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([Promise.resolve(call()), timeout]);
    } catch (e) {
      throw this.mapError(e, serial, step);
    } finally {
      clearTimeout(timer);
    }
  }

  version(timeoutMs = 5_000): Promise<number> {
    return this.bounded<number>('asking the adb server its version', null, timeoutMs, () => this.client.version());
  }

  async listDevices(timeoutMs = 5_000): Promise<AdbDevice[]> {
    const list = await this.bounded<{ id: string; type: string }[]>('listing devices', null, timeoutMs, () => this.client.listDevices());
    return list.map((d) => ({ serial: d.id, state: String(d.type) }));
  }

  device(serial: string): DeviceClient {
    return this.client.getDevice(serial);
  }

  properties(serial: string, timeoutMs = 10_000): Promise<Record<string, string>> {
    return this.bounded<Record<string, string>>('reading the device properties', serial, timeoutMs, () => this.device(serial).getProperties());
  }

  /**
   * Runs a command line (already quoted: see quote.ts) and returns its output and exit status.
   * Rejects on timeout or cancellation (the stream is destroyed, which ends the command on the
   * phone); resolves with `exitCode: null` when the link ended first.
   */
  async shell(serial: string, command: string, options: { timeoutMs: number; signal?: AbortSignal; step?: string; onOutput?: (chunk: string) => void }): Promise<ShellResult> {
    const step = options.step ?? `running '${command.length > 80 ? command.slice(0, 77) + '…' : command}'`;
    const started = Date.now();
    const stream = await this.bounded<Duplex>(step, serial, options.timeoutMs, () => this.device(serial).shell(withRcMarker(command)));
    const remaining = Math.max(1, options.timeoutMs - (Date.now() - started));
    return new Promise<ShellResult>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (err: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (err) {
          stream.destroy();
          reject(err);
        } else resolve(parseRcMarker(Buffer.concat(chunks).toString('utf8')));
      };
      const timer = setTimeout(
        () => finish(new DeviceError('timeout', `${step} on '${serial}' did not finish within ${formatSeconds(options.timeoutMs)}; it was stopped.`)),
        remaining,
      );
      const onAbort = () => finish(new DeviceError('timeout', `${step} on '${serial}' was cancelled.`));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (d: Buffer) => {
        chunks.push(d);
        options.onOutput?.(d.toString('utf8'));
      });
      stream.on('end', () => finish(null));
      stream.on('close', () => finish(null));
      stream.on('error', (e: Error) => {
        // A reset link still delivered what it had: report it as an unfinished command.
        if (/ECONNRESET|EPIPE/.test(describe(e))) finish(null);
        else finish(this.mapError(e, serial, step));
      });
    });
  }

  /** Pushes bytes to a path on the phone (sync SEND), waiting for the device's answer. */
  async push(serial: string, data: Uint8Array, remotePath: string, mode: number, timeoutMs: number): Promise<void> {
    const step = `pushing ${data.length} bytes to '${remotePath}'`;
    const transfer = await this.bounded<AdbkitTransfer>(step, serial, timeoutMs, () =>
      this.device(serial).push(Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)]), remotePath, mode),
    );
    await this.bounded<void>(
      step,
      serial,
      timeoutMs,
      () =>
        new Promise<void>((resolve, reject) => {
          let error: Error | null = null;
          transfer.on('error', (e: Error) => {
            error = e;
          });
          // adbkit can emit `end` before `error`: let a late error win.
          transfer.on('end', () => setImmediate(() => (error ? reject(error) : resolve())));
        }),
      () => transfer.cancel(),
    ).catch((e: unknown) => {
      const err = e as DeviceError;
      if (err.kind === 'adb') throw new DeviceError('push-failed', `Pushing to '${remotePath}' on '${serial}' failed: ${describe(err.cause ?? err).replace(/^Failure: /, '')}`, { cause: e });
      throw err;
    });
  }

  /**
   * `adb connect HOST:PORT` through the server. A device that waits for the user's authorisation
   * is connected (it shows `unauthorized`); adb says "failed to authenticate" then, which is not a
   * failure here.
   */
  async connect(host: string, port: number, timeoutMs = 15_000): Promise<{ serial: string; message: string; authorized: boolean }> {
    const serial = `${host}:${port}`;
    try {
      await this.bounded<string>(`connecting to ${serial}`, null, timeoutMs, () => this.client.connect(host, port));
      return { serial, message: `connected to ${serial}`, authorized: true };
    } catch (e) {
      const cause = (e as DeviceError).cause ?? e;
      const msg = describe(cause);
      if (/failed to authenticate/i.test(msg)) return { serial, message: msg, authorized: false };
      if (e instanceof DeviceError && e.kind !== 'adb') throw e;
      throw new DeviceError('not-found', `adb could not connect to ${serial}: ${msg.replace(/^Failure: /, '')}`, { cause });
    }
  }

  async disconnect(host: string, port: number, timeoutMs = 10_000): Promise<void> {
    await this.bounded<unknown>(`disconnecting ${host}:${port}`, null, timeoutMs, () => this.client.disconnect(host, port)).catch(() => undefined);
  }

  /**
   * Follows `host:track-devices`. Calls `onList` with the full list on every change; `onEnd`
   * when the tracking connection ends (server gone). Returns a stop function.
   */
  async track(onList: (devices: AdbDevice[]) => void, onEnd: (error: Error | null) => void, timeoutMs = 5_000): Promise<() => void> {
    const tracker = await this.bounded<AdbkitTracker>('tracking devices', null, timeoutMs, () => this.client.trackDevices());
    let ended = false;
    // adbkit emits add/change/remove, then changeSet, and only then updates its own list.
    const current = new Map<string, string>();
    tracker.on('add', (d: { id: string; type: string }) => current.set(d.id, String(d.type)));
    tracker.on('change', (d: { id: string; type: string }) => current.set(d.id, String(d.type)));
    tracker.on('remove', (d: { id: string }) => current.delete(d.id));
    tracker.on('changeSet', () => onList([...current].map(([serial, state]) => ({ serial, state }))));
    tracker.on('error', (e: Error) => {
      if (!ended) {
        ended = true;
        onEnd(e);
      }
    });
    tracker.on('end', () => {
      if (!ended) {
        ended = true;
        onEnd(null);
      }
    });
    return () => {
      ended = true;
      tracker.end();
    };
  }
}

export function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
