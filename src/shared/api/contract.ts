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

export const ExperimentStatus = z.enum(['running', 'completed', 'failed', 'cancelled', 'interrupted']);
export const JobStatus = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted']);

export const Metric = z.object({ name: z.string(), context: z.string(), value: z.number(), unit: z.string() });
export type Metric = z.infer<typeof Metric>;

export const ExperimentSummary = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.string(),
  status: ExperimentStatus,
  tags: z.array(z.string()),
  notes: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  modelSha256: z.string().nullable(),
  datasetSha256: z.string().nullable(),
  appVersion: z.string(),
  seed: z.number().int().nullable(),
  roundingMode: z.string().nullable(),
  /** The headline metrics (e.g. accuracy), for list views. */
  metrics: z.array(Metric),
});
export type ExperimentSummary = z.infer<typeof ExperimentSummary>;

export const ArtifactRef = z.object({ sha256: z.string(), role: z.string(), name: z.string(), sizeBytes: z.number().int() });
export type ArtifactRef = z.infer<typeof ArtifactRef>;

export const ExperimentDetail = ExperimentSummary.extend({
  config: z.unknown(),
  error: z.string().nullable(),
  model: z.object({ id: z.string(), name: z.string(), format: z.string(), sha256: z.string(), sizeBytes: z.number().int(), sourcePath: z.string().nullable() }).nullable(),
  dataset: z.object({ id: z.string(), spec: z.string(), sha256: z.string(), sampleCount: z.number().int() }).nullable(),
  artifacts: z.array(ArtifactRef),
  layerMetricCount: z.number().int(),
  deviceRunCount: z.number().int(),
  jobId: z.string().nullable(),
});
export type ExperimentDetail = z.infer<typeof ExperimentDetail>;

export const ExperimentListRequest = z
  .object({
    text: z.string().max(200).optional(),
    status: ExperimentStatus.optional(),
    kind: z.string().max(50).optional(),
    tag: z.string().max(100).optional(),
    sort: z.enum(['createdAt', 'name', 'status', 'kind']).default('createdAt'),
    order: z.enum(['asc', 'desc']).default('desc'),
    offset: z.number().int().nonnegative().default(0),
    limit: z.number().int().positive().max(500).default(50),
  })
  .strict();
export type ExperimentListRequest = z.input<typeof ExperimentListRequest>;

export const ExperimentPage = z.object({ total: z.number().int(), offset: z.number().int(), items: z.array(ExperimentSummary) });
export type ExperimentPage = z.infer<typeof ExperimentPage>;

export const JobSummary = z.object({
  id: z.string(),
  kind: z.string(),
  status: JobStatus,
  experimentId: z.string().nullable(),
  stage: z.string(),
  done: z.number().int(),
  total: z.number().int().nullable(),
  etaMs: z.number().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type JobSummary = z.infer<typeof JobSummary>;

export const JobLogLine = z.object({ seq: z.number().int(), at: z.string(), level: z.enum(['info', 'warn', 'error']), message: z.string() });
export const JobDetail = JobSummary.extend({ log: z.array(JobLogLine) });
export type JobDetail = z.infer<typeof JobDetail>;


// ---- devices (phones over ADB) and device runs ------------------------------------------------

export const NnapiInfo = z.object({ featureLevel: z.number().int(), version: z.string(), notes: z.array(z.string()) });

/** What the benchmark tool reported about NNAPI accelerators and the GPU. */
export const ToolFacts = z.object({
  nnapiAccelerators: z.array(z.string()).nullable(),
  nnapiDelegateCreated: z.boolean(),
  gpuDelegateCreated: z.boolean(),
  gpuApi: z.string().nullable(),
  gpuKernels: z.number().int().nullable(),
  xnnpackDelegateCreated: z.boolean(),
  tfliteVersion: z.string().nullable(),
});

export const DeviceFacts = z.object({
  model: z.string().nullable(),
  manufacturer: z.string().nullable(),
  brand: z.string().nullable(),
  device: z.string().nullable(),
  soc: z.string().nullable(),
  socManufacturer: z.string().nullable(),
  platform: z.string().nullable(),
  board: z.string().nullable(),
  hardware: z.string().nullable(),
  abi: z.string().nullable(),
  abis: z.array(z.string()),
  androidVersion: z.string().nullable(),
  sdk: z.number().int().nullable(),
  nnapi: NnapiInfo.nullable(),
  fingerprint: z.string().nullable(),
  tool: ToolFacts.nullable(),
});
export type DeviceFacts = z.infer<typeof DeviceFacts>;

export const DeviceInfo = z.object({
  /** The adb server (`host:port`) the device is attached to. */
  server: z.string(),
  serial: z.string(),
  /** What adb printed: device, offline, unauthorized, no permissions, … */
  state: z.string(),
  status: z.enum(['device', 'offline', 'unauthorized', 'unknown']),
  /** What to do when the device is not ready ("Unlock the phone and allow USB debugging …"). */
  hint: z.string().nullable(),
  transport: z.enum(['usb', 'tcp', 'emulator']),
  facts: DeviceFacts.nullable(),
  factsError: z.string().nullable(),
});
export type DeviceInfo = z.infer<typeof DeviceInfo>;

export const AdbServerStatus = z.object({
  address: z.string(),
  source: z.enum(['flag', 'setting', 'env', 'default']),
  ok: z.boolean(),
  version: z.number().int().nullable(),
  started: z.boolean(),
  error: z.string().nullable(),
});

export const DeviceListing = z.object({ servers: z.array(AdbServerStatus), devices: z.array(DeviceInfo) });
export type DeviceListing = z.infer<typeof DeviceListing>;

const StatLine = z.object({
  count: z.number(),
  firstUs: z.number().nullable(),
  currUs: z.number().nullable(),
  minUs: z.number().nullable(),
  maxUs: z.number().nullable(),
  avgUs: z.number().nullable(),
  stdUs: z.number().nullable(),
  p5Us: z.number().nullable(),
  medianUs: z.number().nullable(),
  p95Us: z.number().nullable(),
});

/** Latency of a device run, in microseconds (benchmark_model's unit). */
export const BenchLatency = z.object({
  initUs: z.number().nullable(),
  firstUs: z.number().nullable(),
  warmupAvgUs: z.number().nullable(),
  avgUs: z.number().nullable(),
  stdUs: z.number().nullable(),
  minUs: z.number().nullable(),
  maxUs: z.number().nullable(),
  count: z.number().nullable(),
  p5Us: z.number().nullable(),
  medianUs: z.number().nullable(),
  p95Us: z.number().nullable(),
  warmup: StatLine.nullable(),
});

export const BenchMemory = z.object({ initMb: z.number().nullable(), overallMb: z.number().nullable(), peakMb: z.number().nullable() });

export const BenchDelegation = z.object({
  /** The delegate QuantLab asked for (cpu, xnnpack, gpu, nnapi, quantlab-cpu) and the NNAPI accelerator. */
  requested: z.string(),
  accelerator: z.string().nullable(),
  /** The delegate name the tool printed (TfLiteGpuDelegateV2 …). */
  delegate: z.string().nullable(),
  nodesDelegated: z.number().int().nullable(),
  nodesTotal: z.number().int().nullable(),
  /** Where nodesTotal comes from: the tool's line, or QuantLab counting the model's ops. */
  nodesTotalSource: z.enum(['log', 'model']).nullable(),
  partitions: z.number().int().nullable(),
  lines: z.array(z.object({ delegate: z.string(), nodesDelegated: z.number().int(), nodesTotal: z.number().int().nullable(), partitions: z.number().int(), form: z.enum(['old', 'new']) })),
  staticShapeWarning: z.boolean(),
  delegateNotApplied: z.boolean(),
  coverage: z.enum(['complete', 'partial', 'none']).nullable(),
});

const OpProfileRow = z.object({
  nodeType: z.string(),
  name: z.string(),
  nodeIndex: z.number().int().nullable(),
  startMs: z.number().nullable(),
  firstMs: z.number().nullable(),
  avgMs: z.number().nullable(),
  percent: z.number().nullable(),
  cdfPercent: z.number().nullable(),
  memKb: z.number().nullable(),
  timesCalled: z.number().nullable(),
});

export const OpProfile = z.object({
  runOrder: z.array(OpProfileRow),
  byNodeType: z.array(
    z.object({
      nodeType: z.string(),
      count: z.number().nullable(),
      avgMs: z.number().nullable(),
      percent: z.number().nullable(),
      cdfPercent: z.number().nullable(),
      memKb: z.number().nullable(),
      timesCalled: z.number().nullable(),
    }),
  ),
  nodesExecuted: z.number().int().nullable(),
  init: z.array(OpProfileRow),
});

/** The delegate pre-flight's prediction beside the measurement (null, with the reason, for cpu/xnnpack runs and runs without device facts), and their comparison. */
export const PredictionRecord = z.object({ prediction: z.unknown().nullable(), reason: z.string().nullable(), comparison: z.unknown().nullable() });

export const DeviceRun = z.object({
  id: z.string(),
  experimentId: z.string().nullable(),
  /** `host:port` of the adb server, or 'local' for the desktop runtime. */
  server: z.string(),
  serial: z.string(),
  /** Device facts at the time of the run (DeviceFacts for a phone). */
  device: z.unknown(),
  delegate: z.string(),
  threads: z.number().int().nullable(),
  /** The exact command line (benchmark_model and its flags). */
  flags: z.array(z.string()),
  status: ExperimentStatus,
  latency: BenchLatency,
  memory: BenchMemory,
  delegation: BenchDelegation,
  predicted: PredictionRecord,
  profile: OpProfile.nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  rawLogBytes: z.number().int(),
  /** The raw benchmark log, when asked for. */
  rawLog: z.string().nullable(),
});
export type DeviceRun = z.infer<typeof DeviceRun>;

export const DeviceRunListRequest = z
  .object({
    experimentId: z.string().min(1).max(64).optional(),
    serial: z.string().min(1).max(200).optional(),
    delegate: z.string().min(1).max(50).optional(),
    limit: z.number().int().positive().max(1000).default(200),
    includeLog: z.boolean().default(false),
  })
  .strict();

const Id = z.object({ id: z.string().min(1).max(64) }).strict();

export const channels = {
  'app.info': { request: Empty, response: AppInfo },
  'doctor.report': { request: Empty, response: DoctorReport },
  'experiments.list': { request: ExperimentListRequest, response: ExperimentPage },
  'experiments.get': { request: Id, response: ExperimentDetail },
  'experiments.tag': {
    request: z.object({ id: z.string().min(1).max(64), add: z.array(z.string().min(1).max(100)).default([]), remove: z.array(z.string().max(100)).default([]) }).strict(),
    response: ExperimentDetail,
  },
  'experiments.note': { request: z.object({ id: z.string().min(1).max(64), notes: z.string().max(100_000) }).strict(), response: ExperimentDetail },
  'experiments.delete': { request: Id, response: z.object({ id: z.string(), trashedArtifacts: z.number().int() }) },
  'jobs.list': { request: z.object({ status: JobStatus.optional(), limit: z.number().int().positive().max(500).default(50) }).strict(), response: z.array(JobSummary) },
  'jobs.get': { request: Id, response: JobDetail },
  'jobs.cancel': { request: Id, response: JobSummary },
  'devices.list': { request: z.object({ facts: z.boolean().default(true) }).strict(), response: DeviceListing },
  'devices.get': { request: z.object({ serial: z.string().min(1).max(200), server: z.string().min(1).max(300).optional() }).strict(), response: DeviceInfo },
  'deviceRuns.list': { request: DeviceRunListRequest, response: z.array(DeviceRun) },
} as const;

export const JobProgress = z.object({
  jobId: z.string(),
  stage: z.string(),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative().nullable(),
  etaMs: z.number().nonnegative().nullable(),
  state: JobStatus,
  experimentId: z.string().nullable(),
  kind: z.string(),
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
