/**
 * Benchmark runs on a phone: the model and TFLite's `benchmark_model` pushed by hash (each pushed
 * once, checked with `sha256sum` on the phone), one run per delegate × threads, every step bounded
 * in time, and the log parsed into records with the raw text kept.
 *
 * Layout on the phone (the shell user may write only under /data/local/tmp):
 *   /data/local/tmp/quantlab/models/<sha256>.tflite
 *   /data/local/tmp/quantlab/bin/<sha256>/benchmark_model
 *   /data/local/tmp/quantlab/bin/LAST          the hash of the tool pushed last
 * Without --benchmark-binary, the tool named by LAST is used, else /data/local/tmp/benchmark_model
 * (where TFLite's guide puts it).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { UserError } from '../../core/errors';
import { DeviceError, formatSeconds, type AdbServerClient, type ShellResult } from './adb';
import { parseBenchmarkLog, type BenchmarkParse, type ToolFacts } from './benchmark-parser';
import { factsFromProperties, stateHint, type DeviceFacts } from './facts';
import { shellCommand, shellQuote } from './quote';

export const REMOTE_ROOT = '/data/local/tmp/quantlab';
export const REMOTE_MODELS = `${REMOTE_ROOT}/models`;
export const REMOTE_BIN = `${REMOTE_ROOT}/bin`;
export const CONVENTIONAL_TOOL = '/data/local/tmp/benchmark_model';

export const DELEGATES = ['cpu', 'xnnpack', 'gpu', 'nnapi'] as const;
export type Delegate = (typeof DELEGATES)[number];

export interface RunSpec {
  delegate: Delegate;
  threads: number;
  /** NNAPI accelerator name (`--nnapi_accelerator_name`), nnapi only. */
  accelerator?: string | null;
}

export interface BenchSettings {
  runs: number;
  warmup: number;
  profile: boolean;
  /** Extra `--flag=value` words, passed after QuantLab's own (quoted one by one). */
  extraFlags: string[];
}

export interface StepTimeouts {
  /** Each small shell step (hash, mkdir, mv, chmod, getprop). */
  stepMs: number;
  /** Each push (scaled up for big files: at least 1 s per MB on top). */
  pushMs: number;
  /** Each benchmark run. */
  runMs: number;
}

export const DEFAULT_TIMEOUTS: StepTimeouts = { stepMs: 30_000, pushMs: 120_000, runMs: 600_000 };

export interface RunOutcome {
  spec: RunSpec;
  argv: string[];
  status: 'completed' | 'failed';
  error: string | null;
  parse: BenchmarkParse | null;
  rawLog: string;
  startedAt: string;
  finishedAt: string;
  /** The failure means the phone is gone (the remaining runs cannot happen). */
  deviceLost: boolean;
}

export type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

const TOOL_HELP =
  "QuantLab needs TFLite's benchmark_model built for the phone (Android arm64-v8a): download `android_aarch64_benchmark_model` from the TFLite performance-measurement page (or build //tensorflow/lite/tools/benchmark:benchmark_model with --config=android_arm64) and pass it with --benchmark-binary PATH; QuantLab pushes it once and checks it by hash.";

/** The benchmark_model flags for one run, program first. */
export function benchmarkArgv(tool: string, model: string, spec: RunSpec, settings: BenchSettings): string[] {
  const argv = [tool, `--graph=${model}`, `--num_threads=${spec.threads}`, `--warmup_runs=${settings.warmup}`, `--num_runs=${settings.runs}`];
  switch (spec.delegate) {
    case 'cpu':
      argv.push('--use_xnnpack=false');
      break;
    case 'xnnpack':
      argv.push('--use_xnnpack=true');
      break;
    case 'gpu':
      argv.push('--use_gpu=true');
      break;
    case 'nnapi':
      argv.push('--use_nnapi=true');
      if (spec.accelerator) argv.push(`--nnapi_accelerator_name=${spec.accelerator}`);
      break;
  }
  if (settings.profile) argv.push('--enable_op_profiling=true');
  argv.push(...settings.extraFlags);
  return argv;
}

/** Refuses extra flags that are not `--name[=value]` (values may hold anything: they are quoted). */
export function checkExtraFlags(flags: string[]): string[] {
  for (const f of flags) {
    if (!/^--[A-Za-z0-9_]+(=[\s\S]*)?$/.test(f)) {
      throw new UserError('bad-argument', `Extra flag '${f}' is not a benchmark_model flag: write it as --name=value.`);
    }
  }
  return flags;
}

/** Why a tool could not run, from the shell's answer; null when it ran. */
export function toolProblem(result: ShellResult, path: string): string | null {
  const out = result.output;
  const lineWith = (re: RegExp) => (out.trim().split('\n').find((l) => re.test(l)) ?? out.trim().split('\n')[0] ?? '').trim();
  if (/CANNOT LINK EXECUTABLE/.test(out)) {
    return `The benchmark tool at '${path}' cannot start (${lineWith(/CANNOT LINK EXECUTABLE/)}): it needs libraries the phone does not have.`;
  }
  const ran = /STARTING!|--graph/.test(out);
  if (result.exitCode === 127 || (!ran && /inaccessible or not found|No such file or directory/.test(out))) {
    return `There is no benchmark_model at '${path}'.`;
  }
  if (result.exitCode === 126 || (!ran && /not executable|Permission denied|Exec format error|cannot execute/i.test(out))) {
    const line = lineWith(/not executable|Permission denied|Exec format|cannot execute/i);
    const why = /Permission denied/i.test(line)
      ? `it is not marked executable (\`adb shell chmod 755 ${path}\` fixes that, or let QuantLab push it)`
      : "it is not an executable built for the phone's ABI";
    return `The benchmark tool at '${path}' cannot run on this phone (${line}): ${why}.`;
  }
  return null;
}

export class DeviceBenchSession {
  private hasSha256sum: boolean | null = null;

  constructor(
    readonly client: AdbServerClient,
    readonly serial: string,
    private readonly options: { log: Log; signal?: AbortSignal; timeouts?: Partial<StepTimeouts> },
  ) {}

  private get timeouts(): StepTimeouts {
    return { ...DEFAULT_TIMEOUTS, ...this.options.timeouts };
  }

  private sh(argv: string[], step: string, timeoutMs = this.timeouts.stepMs): Promise<ShellResult> {
    return this.client.shell(this.serial, shellCommand(argv), { timeoutMs, signal: this.options.signal, step });
  }

  /** A step that must succeed: a link that ends mid-step is a lost device. */
  private async must(argv: string[], step: string): Promise<ShellResult> {
    const r = await this.sh(argv, step);
    if (r.exitCode === null) throw new DeviceError('link-lost', `The link to '${this.serial}' ended while ${step}: the phone was unplugged or adb lost it.`);
    return r;
  }

  /** The device's state on its server now ('device', 'offline', …), or null when it is not there. */
  async currentState(): Promise<string | null> {
    try {
      const list = await this.client.listDevices(this.timeouts.stepMs);
      return list.find((d) => d.serial === this.serial)?.state ?? null;
    } catch {
      return null;
    }
  }

  async facts(): Promise<DeviceFacts> {
    return factsFromProperties(await this.client.properties(this.serial, this.timeouts.stepMs));
  }

  /** The sha256 of a file on the phone; null when it is missing or the phone cannot hash. */
  async remoteSha256(path: string): Promise<string | null> {
    if (this.hasSha256sum === false) return null;
    const r = await this.must(['sha256sum', path], `hashing '${path}'`);
    if (r.exitCode === 127) {
      this.hasSha256sum = false;
      this.options.log('warn', `'${this.serial}' has no sha256sum: files are compared by size only.`);
      return null;
    }
    this.hasSha256sum = true;
    const m = /^([0-9a-f]{64})\s/m.exec(r.output);
    return r.exitCode === 0 && m ? m[1] : null;
  }

  private async remoteSize(path: string): Promise<number | null> {
    const r = await this.must(['stat', '-c', '%s', path], `reading the size of '${path}'`);
    const m = /^(\d+)\s*$/m.exec(r.output);
    return r.exitCode === 0 && m ? Number(m[1]) : null;
  }

  /** Whether the phone already holds exactly these bytes at `path`. */
  private async holds(path: string, sha256: string, sizeBytes: number): Promise<boolean> {
    const remote = await this.remoteSha256(path);
    if (remote !== null) return remote === sha256;
    if (this.hasSha256sum === false) return (await this.remoteSize(path)) === sizeBytes;
    return false;
  }

  /**
   * Pushes `bytes` to `path` unless the phone already has them there. Writes a `.part` file,
   * checks its hash, then renames it, so a push cut short never leaves a wrong file at `path`.
   */
  async pushIfMissing(bytes: Uint8Array, path: string, mode: number, what: string): Promise<{ sha256: string; pushed: boolean }> {
    const sha256 = sha256Hex(bytes);
    if (await this.holds(path, sha256, bytes.length)) {
      this.options.log('info', `${what} is already on '${this.serial}' (${path}, sha256 ${sha256.slice(0, 12)}); not pushed.`);
      return { sha256, pushed: false };
    }
    const dir = path.slice(0, path.lastIndexOf('/'));
    await this.must(['mkdir', '-p', dir], `creating '${dir}'`);
    const part = `${path}.part`;
    const pushMs = this.timeouts.pushMs + Math.ceil(bytes.length / 1e6) * 1000;
    const t0 = Date.now();
    await this.client.push(this.serial, bytes, part, mode, pushMs);
    const check = await this.remoteSha256(part);
    if (check !== null && check !== sha256) {
      await this.sh(['rm', '-f', part], `removing '${part}'`).catch(() => undefined);
      throw new DeviceError('push-failed', `The copy of ${what} on '${this.serial}' has sha256 ${check}, not ${sha256}: the push was corrupted; run again.`);
    }
    const mv = await this.must(['mv', '-f', part, path], `moving '${part}' into place`);
    if (mv.exitCode !== 0) throw new DeviceError('push-failed', `Moving '${part}' to '${path}' on '${this.serial}' failed: ${mv.output.trim()}`);
    if (mode & 0o111) await this.must(['chmod', (mode & 0o777).toString(8), path], `making '${path}' executable`);
    this.options.log('info', `Pushed ${what} to '${this.serial}' (${path}, ${bytes.length} bytes, ${Date.now() - t0} ms).`);
    return { sha256, pushed: true };
  }

  async ensureModel(bytes: Uint8Array): Promise<{ path: string; sha256: string; pushed: boolean }> {
    const sha256 = sha256Hex(bytes);
    const path = `${REMOTE_MODELS}/${sha256}.tflite`;
    const r = await this.pushIfMissing(bytes, path, 0o644, 'the model');
    return { path, ...r };
  }

  /**
   * The benchmark tool: pushed from `localPath` when given (once, by hash), else the last one
   * QuantLab pushed, else /data/local/tmp/benchmark_model. Checked by running `--help`, so a
   * missing or foreign binary is reported before any run, with what to do.
   */
  async ensureTool(localPath: string | null): Promise<{ path: string; sha256: string | null; pushed: boolean }> {
    let path: string;
    let sha256: string | null = null;
    let pushed = false;
    if (localPath) {
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(localPath);
      } catch (e) {
        throw new UserError('bad-input', `The benchmark binary '${localPath}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
      }
      const hash = sha256Hex(bytes);
      path = `${REMOTE_BIN}/${hash}/benchmark_model`;
      ({ sha256, pushed } = await this.pushIfMissing(bytes, path, 0o755, 'the benchmark tool'));
      // Remember it for runs without --benchmark-binary.
      const r = await this.client.shell(this.serial, `${shellCommand(['echo', hash])} > ${shellQuote(`${REMOTE_BIN}/LAST`)}`, {
        timeoutMs: this.timeouts.stepMs,
        signal: this.options.signal,
        step: 'recording the tool',
      });
      if (r.exitCode !== 0) this.options.log('warn', `Could not record the tool's hash on '${this.serial}': ${r.output.trim()}`);
    } else {
      const last = await this.must(['cat', `${REMOTE_BIN}/LAST`], 'looking for a benchmark tool');
      const hash = /^[0-9a-f]{64}$/m.exec(last.output)?.[0];
      path = hash && last.exitCode === 0 ? `${REMOTE_BIN}/${hash}/benchmark_model` : CONVENTIONAL_TOOL;
      sha256 = hash ?? null;
    }
    const help = await this.sh([path, '--help'], `checking the benchmark tool '${path}'`);
    if (help.exitCode === null) throw new DeviceError('link-lost', `The link to '${this.serial}' ended while checking the benchmark tool.`);
    const problem = toolProblem(help, path);
    if (problem) {
      throw new UserError(problem.startsWith('There is no') ? 'tool-missing' : 'tool-not-executable', `${problem} ${TOOL_HELP}`);
    }
    return { path, sha256, pushed };
  }

  /**
   * Asks the tool which NNAPI accelerators the phone has (by naming one that does not exist, the
   * NNAPI delegate lists the real ones). Never fails a benchmark: returns null when it cannot tell.
   */
  async probeNnapi(tool: string, model: string): Promise<ToolFacts | null> {
    try {
      const r = await this.sh(
        [tool, `--graph=${model}`, '--use_nnapi=true', '--nnapi_accelerator_name=quantlab-list-accelerators', '--num_runs=1', '--warmup_runs=0'],
        'listing NNAPI accelerators',
        Math.min(this.timeouts.runMs, 60_000),
      );
      return parseBenchmarkLog(r.output, 'nnapi').tool;
    } catch (e) {
      this.options.log('warn', `Could not list the NNAPI accelerators of '${this.serial}': ${(e as Error).message}`);
      return null;
    }
  }

  /** One benchmark run; never throws for a device failure: the outcome says what happened. */
  async run(tool: string, model: string, spec: RunSpec, settings: BenchSettings): Promise<RunOutcome> {
    const argv = benchmarkArgv(tool, model, spec, settings);
    const startedAt = new Date().toISOString();
    const label = `${spec.delegate}${spec.accelerator ? ` (${spec.accelerator})` : ''}, ${spec.threads} thread${spec.threads === 1 ? '' : 's'}`;
    const outcome = (status: RunOutcome['status'], error: string | null, rawLog: string, parse: BenchmarkParse | null, deviceLost = false): RunOutcome => ({
      spec,
      argv,
      status,
      error,
      parse,
      rawLog,
      startedAt,
      finishedAt: new Date().toISOString(),
      deviceLost,
    });
    let partial = '';
    let result: ShellResult;
    try {
      result = await this.client.shell(this.serial, `${shellCommand(argv)} 2>&1`, {
        timeoutMs: this.timeouts.runMs,
        signal: this.options.signal,
        step: `the benchmark run (${label})`,
        onOutput: (chunk) => (partial += chunk),
      });
    } catch (e) {
      const err = e as DeviceError;
      if (this.options.signal?.aborted) return outcome('failed', 'The run was cancelled.', partial, null);
      const lost = err instanceof DeviceError && ['not-found', 'offline', 'unauthorized', 'link-lost', 'no-server'].includes(err.kind);
      const reason = err instanceof DeviceError && err.kind === 'timeout' ? `${err.message} (raise the limit with --run-timeout SECONDS)` : err.message;
      return outcome('failed', reason, partial, partial ? parseBenchmarkLog(partial, spec.delegate) : null, lost);
    }
    if (result.exitCode === null) {
      const state = await this.currentState();
      const now = state === null ? 'it is no longer connected' : state === 'device' ? 'it is connected again' : `it is now ${state}`;
      return outcome(
        'failed',
        `The link to '${this.serial}' ended during the benchmark run (${label}): the phone was unplugged or adb lost it; ${now}.`,
        result.output,
        parseBenchmarkLog(result.output, spec.delegate),
        state !== 'device',
      );
    }
    const problem = toolProblem(result, tool);
    if (problem) return outcome('failed', `${problem} ${TOOL_HELP}`, result.output, null);
    const parse = parseBenchmarkLog(result.output, spec.delegate);
    if (!parse.complete || result.exitCode !== 0) {
      const said = parse.errors.length ? parse.errors.slice(0, 3).join(' ') : result.output.trim().split('\n').slice(-3).join(' ');
      let reason = `benchmark_model failed (${label}, exit status ${result.exitCode}): ${said}`;
      if (spec.delegate === 'nnapi' && spec.accelerator && parse.tool.nnapiAccelerators) {
        reason += ` The accelerators on this phone are: ${parse.tool.nnapiAccelerators.join(', ')}.`;
      }
      return outcome('failed', reason, result.output, parse);
    }
    return outcome('completed', null, result.output, parse);
  }

  /** A sentence for a device that is not ready, or null when it is. */
  async readiness(): Promise<string | null> {
    const state = await this.currentState();
    if (state === 'device') return null;
    if (state === null) return `The device '${this.serial}' is not connected to the adb server at ${this.client.label}.`;
    return `The device '${this.serial}' is ${state}: ${stateHint(state, this.serial)}`;
  }
}

export { formatSeconds };
