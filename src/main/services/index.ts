/**
 * The services: what the Electron app, `quantlab serve` and the CLI all call. One instance per
 * process; the transports are thin doors into it.
 */
import { appVersion } from './app-version';
import { doctorReport } from './doctor';
import { UserError } from '../../core/errors';
import { dispatch, type Handlers } from './dispatch';
import { EventBus } from './events';
import type { Envelope } from '../../shared/api/envelope';
import { WorkspaceStore } from '../store';
import { JobRunner } from '../jobs/runner';
import { lastToolFacts, listDeviceRuns } from '../store/device-runs';
import type { DeviceService } from '../devices/service';

export interface ServicesOptions {
  workspaceDir: string;
  transport: 'electron' | 'web';
  electronVersion?: string | null;
  log?: (line: string) => void;
  /** The adb servers setting (`HOST:PORT`, each); default: $QUANTLAB_ADB_SERVERS, $ANDROID_ADB_SERVER_PORT, 5037. */
  adbServers?: string[];
}

export interface Services {
  readonly handlers: Handlers;
  readonly events: EventBus;
  readonly workspaceDir: string;
  /** The workspace store, opened (and created, migrated, recovered) on first use. */
  store(): WorkspaceStore;
  /** The job runner of this process, created on first use. */
  jobs(): JobRunner;
  /** The device service (adb servers, live device list), loaded on first use. */
  devices(): Promise<DeviceService>;
  /** Validates and runs one request; never throws. */
  call(channel: unknown, payload: unknown): Promise<Envelope>;
  close(): Promise<void>;
}

export function createServices(options: ServicesOptions): Services {
  const bus = new EventBus();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let store: WorkspaceStore | undefined;
  let runner: JobRunner | undefined;
  const openStore = () => (store ??= WorkspaceStore.open(options.workspaceDir));
  const jobs = () => (runner ??= new JobRunner(openStore(), { emit: (p) => bus.emit('job.progress', p) }));
  let deviceService: Promise<DeviceService> | undefined;
  // Loaded lazily: adbkit stays out of verbs that never talk to a phone.
  const devices = () =>
    (deviceService ??= import('../devices/index').then(
      ({ DeviceService, resolveAdbServers }) =>
        new DeviceService({ servers: resolveAdbServers({ setting: options.adbServers }), emit: (c) => bus.emit('device.changed', c) }),
    ));
  const handlers: Handlers = {
    'app.info': () => ({
      name: 'QuantLab',
      version: appVersion(),
      transport: options.transport,
      workspaceDir: options.workspaceDir,
      platform: `${process.platform}-${process.arch}`,
      nodeVersion: process.versions.node,
      electronVersion: options.electronVersion ?? null,
    }),
    'doctor.report': () => doctorReport(),
    'experiments.list': (req) => openStore().listExperiments(req),
    'experiments.get': ({ id }) => openStore().getExperiment(id),
    'experiments.tag': ({ id, add, remove }) => openStore().tagExperiment(id, add ?? [], remove ?? []),
    'experiments.note': ({ id, notes }) => openStore().noteExperiment(id, notes),
    'experiments.delete': ({ id }) => openStore().deleteExperiment(id),
    'jobs.list': (req) => openStore().listJobs(req),
    'jobs.get': ({ id }) => openStore().getJob(id),
    'jobs.cancel': ({ id }) => {
      const job = openStore().getJob(id);
      if (job.status !== 'queued' && job.status !== 'running') return job;
      if (!jobs().cancel(id)) {
        // Jobs belong to the process that runs them (a terminal's `quantlab eval`, another window).
        throw new UserError('not-owner', `Job '${id}' runs in another QuantLab process: stop it there (Ctrl+C in its terminal).`);
      }
      return openStore().getJob(id);
    },
    'devices.list': async ({ facts }) => {
      const d = await devices();
      d.start();
      return d.list({ facts });
    },
    'devices.get': async ({ serial, server }) => {
      const info = await (await devices()).get(serial, server);
      // What benchmark_model said about NNAPI accelerators and the GPU comes from the device's runs.
      if (info.facts && !info.facts.tool) return { ...info, facts: { ...info.facts, tool: lastToolFacts(openStore().db, info.server, info.serial) } };
      return info;
    },
    'deviceRuns.list': (req) => listDeviceRuns(openStore().db, req),
  };
  return {
    handlers,
    events: bus,
    workspaceDir: options.workspaceDir,
    store: openStore,
    jobs,
    devices,
    call: (channel, payload) => dispatch(handlers, channel, payload, log),
    close: async () => {
      if (deviceService) (await deviceService).stop();
      await runner?.shutdown();
      store?.close();
    },
  };
}
