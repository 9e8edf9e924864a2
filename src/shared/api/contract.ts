/**
 * The one API contract between the renderer and the main process. Both transports (Electron
 * IPC through the preload, and the loopback web bridge of `quantlab serve`) carry exactly these
 * channels and events, validated by these schemas on the main side.
 *
 * A channel is request → response; an event is pushed from main to every open window.
 * Later issues add channels here (experiments, jobs, devices …); nothing else defines them.
 */
import { z } from 'zod';

const Empty = z.object({}).strict();

export const AppInfo = z.object({
  name: z.literal('QuantLab'),
  version: z.string(),
  /** Which door the renderer came through. */
  transport: z.enum(['electron', 'web']),
  workspaceDir: z.string(),
  platform: z.string(),
  nodeVersion: z.string(),
  electronVersion: z.string().nullable(),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const DoctorCheck = z.object({
  id: z.enum(['node', 'electron', 'adb', 'chromium', 'tfjs', 'sqlite', 'flatc', 'fashion-mnist']),
  label: z.string(),
  ok: z.boolean(),
  /** Whether QuantLab's core work needs it (false: only some features or the tests do). */
  required: z.boolean(),
  version: z.string().nullable(),
  detail: z.string(),
  /** What to run or install when it is missing; null when nothing is needed. */
  fix: z.string().nullable(),
});
export type DoctorCheck = z.infer<typeof DoctorCheck>;

export const DoctorReport = z.object({
  ok: z.boolean(),
  checks: z.array(DoctorCheck),
  /** The TensorFlow.js backend QuantLab uses for training (tfjs-node when installed, else wasm, else cpu). */
  tfjsBackend: z.enum(['tensorflow', 'wasm', 'cpu']).nullable(),
});
export type DoctorReport = z.infer<typeof DoctorReport>;

export const channels = {
  'app.info': { request: Empty, response: AppInfo },
  'doctor.report': { request: Empty, response: DoctorReport },
} as const;

export const JobProgress = z.object({
  jobId: z.string(),
  stage: z.string(),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative().nullable(),
  etaMs: z.number().nonnegative().nullable(),
  state: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted']),
});
export type JobProgress = z.infer<typeof JobProgress>;

export const DeviceChanged = z.object({
  server: z.string(),
  serial: z.string(),
  change: z.enum(['added', 'removed', 'changed']),
  state: z.enum(['device', 'offline', 'unauthorized', 'unknown', 'gone']),
});
export type DeviceChanged = z.infer<typeof DeviceChanged>;

export const events = {
  'job.progress': JobProgress,
  'device.changed': DeviceChanged,
} as const;

export type Channels = typeof channels;
export type ChannelName = keyof Channels;
export type RequestOf<C extends ChannelName> = z.input<Channels[C]['request']>;
export type ResponseOf<C extends ChannelName> = z.infer<Channels[C]['response']>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventOf<E extends EventName> = z.infer<Events[E]>;

export const channelNames = Object.keys(channels) as ChannelName[];
export const eventNames = Object.keys(events) as EventName[];

export function isChannelName(value: unknown): value is ChannelName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(channels, value);
}
export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(events, value);
}
