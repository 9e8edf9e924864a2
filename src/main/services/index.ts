/**
 * The services: what the Electron app, `quantlab serve` and the CLI all call. One instance per
 * process; the transports are thin doors into it.
 */
import { appVersion } from './app-version';
import { doctorReport } from './doctor';
import { dispatch, type Handlers } from './dispatch';
import { EventBus } from './events';
import type { Envelope } from '../../shared/api/envelope';

export interface ServicesOptions {
  workspaceDir: string;
  transport: 'electron' | 'web';
  electronVersion?: string | null;
  log?: (line: string) => void;
}

export interface Services {
  readonly handlers: Handlers;
  readonly events: EventBus;
  readonly workspaceDir: string;
  /** Validates and runs one request; never throws. */
  call(channel: unknown, payload: unknown): Promise<Envelope>;
  close(): Promise<void>;
}

export function createServices(options: ServicesOptions): Services {
  const bus = new EventBus();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
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
  };
  return {
    handlers,
    events: bus,
    workspaceDir: options.workspaceDir,
    call: (channel, payload) => dispatch(handlers, channel, payload, log),
    close: async () => {},
  };
}
