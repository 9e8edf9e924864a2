/**
 * The device service: the phones on one or more adb servers (local and remote), each labelled by
 * its server, with their facts and a helpful line for every state that is not ready.
 *
 * Live updates: `host:track-devices` tells quickly that *something* changed, but it reports
 * neither a dropped link (its next event is the removal, about a minute later) nor
 * `unauthorized`; so each server is also polled, and every observation (tracker nudge or poll)
 * re-reads the full list and emits `device.changed` for each difference.
 */
import { UserError } from '../../core/errors';
import { AdbServerClient, type AdbDevice } from './adb';
import { factsFromProperties, stateHint, statusOf, transportOf, type DeviceFacts, type DeviceStatus } from './facts';
import { ensureAdbServer, type AdbServerAddress, type EnsureOptions, type ServerStatus } from './servers';

export interface DeviceInfo {
  /** The adb server (`host:port`) the device is attached to. */
  server: string;
  serial: string;
  /** What adb printed (device, offline, unauthorized, no permissions, …). */
  state: string;
  status: DeviceStatus;
  /** What to do when the device is not ready; null when it is. */
  hint: string | null;
  transport: 'usb' | 'tcp' | 'emulator';
  facts: DeviceFacts | null;
  /** Why the facts could not be read (a ready device that did not answer getprop). */
  factsError: string | null;
}

export interface DeviceListing {
  servers: ServerStatus[];
  devices: DeviceInfo[];
}

export interface DeviceChange {
  server: string;
  serial: string;
  change: 'added' | 'removed' | 'changed';
  state: DeviceStatus | 'gone';
}

export interface DeviceServiceOptions {
  servers: AdbServerAddress[];
  /** Receives every change (the services wire it to the EventBus's `device.changed`). */
  emit?: (change: DeviceChange) => void;
  /** Poll interval of the live list (default 2 s). */
  pollMs?: number;
  /** Start the default local server when nothing listens (default true). */
  startServer?: boolean;
  ensure?: EnsureOptions;
  /** Time limit of each adb step of a listing (default 8 s). */
  stepTimeoutMs?: number;
}

const key = (server: string, serial: string) => `${server}\u0000${serial}`;

class ServerWatcher {
  readonly client: AdbServerClient;
  private known = new Map<string, string>();
  private pollTimer: NodeJS.Timeout | null = null;
  private stopTracker: (() => void) | null = null;
  private stopped = false;
  private refreshing: Promise<void> | null = null;
  private again = false;
  lastError: string | null = null;

  constructor(
    readonly address: AdbServerAddress,
    private readonly emit: (c: DeviceChange) => void,
    private readonly pollMs: number,
    private readonly onRemoved: (serial: string) => void,
  ) {
    this.client = new AdbServerClient(address);
  }

  start(): void {
    this.stopped = false;
    void this.refresh();
    void this.startTracker();
    const tick = () => {
      if (this.stopped) return;
      this.pollTimer = setTimeout(() => {
        void this.refresh().finally(tick);
      }, this.pollMs);
      this.pollTimer.unref();
    };
    tick();
  }

  private async startTracker(): Promise<void> {
    if (this.stopped || this.stopTracker) return;
    try {
      const stop = await this.client.track(
        () => void this.refresh(),
        () => {
          this.stopTracker = null;
          // The server went away or restarted: polling notices; try tracking again later.
          if (!this.stopped) setTimeout(() => void this.startTracker(), this.pollMs).unref();
        },
      );
      if (this.stopped) stop();
      else this.stopTracker = stop;
      // Tracker events can fire before the listeners attach: read the list once more now.
      void this.refresh();
    } catch {
      if (!this.stopped) setTimeout(() => void this.startTracker(), this.pollMs).unref();
    }
  }

  /** Re-reads the list and emits the differences; concurrent calls coalesce. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        let list: AdbDevice[];
        try {
          list = await this.client.listDevices();
          this.lastError = null;
        } catch (e) {
          // An unreachable server has no devices.
          this.lastError = (e as Error).message;
          list = [];
        }
        if (!this.stopped) this.apply(list);
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  apply(list: AdbDevice[]): void {
    const next = new Map(list.map((d) => [d.serial, d.state]));
    for (const [serial, state] of next) {
      const old = this.known.get(serial);
      if (old === undefined) this.emit({ server: this.address.label, serial, change: 'added', state: statusOf(state) });
      else if (old !== state) this.emit({ server: this.address.label, serial, change: 'changed', state: statusOf(state) });
    }
    for (const serial of this.known.keys()) {
      if (!next.has(serial)) {
        this.emit({ server: this.address.label, serial, change: 'removed', state: 'gone' });
        this.onRemoved(serial);
      }
    }
    this.known = next;
  }

  stop(): void {
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.stopTracker?.();
    this.stopTracker = null;
  }
}

export class DeviceService {
  readonly servers: AdbServerAddress[];
  private readonly watchers = new Map<string, ServerWatcher>();
  private readonly facts = new Map<string, DeviceFacts>();
  private readonly clients = new Map<string, AdbServerClient>();
  private running = false;

  constructor(private readonly options: DeviceServiceOptions) {
    if (options.servers.length === 0) throw new Error('DeviceService needs at least one adb server.');
    this.servers = options.servers;
  }

  client(server: string): AdbServerClient {
    const address = this.servers.find((s) => s.label === server);
    if (!address) throw new UserError('not-found', `QuantLab is not using an adb server at ${server} (it uses ${this.servers.map((s) => s.label).join(', ')}).`);
    let c = this.clients.get(server);
    if (!c) this.clients.set(server, (c = new AdbServerClient(address)));
    return c;
  }

  /** Starts live tracking on every server (events through `emit`). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const address of this.servers) {
      const w = new ServerWatcher(address, (c) => this.onChange(c), this.options.pollMs ?? 2_000, (serial) => this.facts.delete(key(address.label, serial)));
      this.watchers.set(address.label, w);
      w.start();
    }
  }

  private onChange(c: DeviceChange): void {
    if (c.change !== 'added' && c.state !== 'device') this.facts.delete(key(c.server, c.serial));
    this.options.emit?.(c);
  }

  /** Re-reads every server now (after a connect, say) instead of waiting for the next poll. */
  async refresh(): Promise<void> {
    await Promise.all([...this.watchers.values()].map((w) => w.refresh()));
  }

  stop(): void {
    this.running = false;
    for (const w of this.watchers.values()) w.stop();
    this.watchers.clear();
  }

  private async readFacts(server: string, serial: string): Promise<{ facts: DeviceFacts | null; error: string | null }> {
    const k = key(server, serial);
    const cached = this.facts.get(k);
    if (cached) return { facts: cached, error: null };
    try {
      const props = await this.client(server).properties(serial, this.options.stepTimeoutMs ?? 8_000);
      const facts = factsFromProperties(props);
      this.facts.set(k, facts);
      return { facts, error: null };
    } catch (e) {
      return { facts: null, error: (e as Error).message };
    }
  }

  private async info(server: string, d: AdbDevice, withFacts: boolean): Promise<DeviceInfo> {
    const status = statusOf(d.state);
    const facts = withFacts && status === 'device' ? await this.readFacts(server, d.serial) : { facts: null, error: null };
    return {
      server,
      serial: d.serial,
      state: d.state,
      status,
      hint: stateHint(d.state, d.serial),
      transport: transportOf(d.serial),
      facts: facts.facts,
      factsError: facts.error,
    };
  }

  /** Every device on every server, with facts for the ready ones. Never throws for a server that is down. */
  async list(options: { facts?: boolean } = {}): Promise<DeviceListing> {
    const perServer = await Promise.all(
      this.servers.map(async (address) => {
        const status = await ensureAdbServer(address, this.options.startServer === false ? { ...this.options.ensure, adbBinary: null } : this.options.ensure);
        if (!status.ok) return { status, devices: [] as DeviceInfo[] };
        try {
          const list = await this.client(address.label).listDevices(this.options.stepTimeoutMs ?? 8_000);
          const devices = await Promise.all(list.map((d) => this.info(address.label, d, options.facts !== false)));
          return { status, devices };
        } catch (e) {
          return { status: { ...status, ok: false, error: (e as Error).message }, devices: [] as DeviceInfo[] };
        }
      }),
    );
    return { servers: perServer.map((p) => p.status), devices: perServer.flatMap((p) => p.devices) };
  }

  /**
   * One device by serial (and server, when the serial is on several). Throws a sentence when it is
   * not there, naming the devices that are.
   */
  async get(serial: string, server?: string): Promise<DeviceInfo> {
    const listing = await this.list({ facts: false });
    const matches = listing.devices.filter((d) => d.serial === serial && (!server || d.server === server));
    if (matches.length > 1) {
      throw new UserError('ambiguous-device', `The serial '${serial}' is on several adb servers (${matches.map((m) => m.server).join(', ')}): choose one with --adb-server.`);
    }
    if (matches.length === 0) {
      const down = listing.servers.filter((s) => !s.ok);
      const others = listing.devices.map((d) => `${d.serial} (${d.state}, ${d.server})`);
      throw new UserError(
        'device-not-found',
        `No device '${serial}' on ${server ?? listing.servers.map((s) => s.address).join(', ')}.` +
          (others.length ? ` Devices there: ${others.join(', ')}.` : ' No device is connected.') +
          (down.length ? ` ${down.map((s) => s.error).join(' ')}` : ''),
      );
    }
    const d = matches[0];
    return this.info(d.server, { serial: d.serial, state: d.state }, true);
  }
}
