/**
 * `quantlab bench MODEL`: latency on a phone (`--device SERIAL`: TFLite's benchmark_model, one
 * run per delegate × thread count) or, without --device, on the desktop in QuantLab's runtime.
 * Every run is stored as a device run of one experiment, so phone and desktop sit side by side.
 */
import { InvalidArgumentError, type Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../core/errors';
import { checkExtraFlags, DELEGATES, type Delegate } from '../../main/devices/bench';
import { splitUserFlags } from '../../main/devices/quote';
import { DeviceService } from '../../main/devices/service';
import type { BenchParams, BenchRunSummary } from '../../main/jobs/kinds/bench';
import type { CliContext } from '../context';
import { runJobFromCli } from '../jobs';
import { collectServers, serversFromFlag } from './devices';

function positive(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`'${v}' is not a positive integer.`);
  return Number(v);
}

function nonNegative(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`'${v}' is not a non-negative integer.`);
  return Number(v);
}

function seconds(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0)) throw new InvalidArgumentError(`'${v}' is not a number of seconds.`);
  return n;
}

export function parseDelegates(v: string): Delegate[] {
  const list = v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (!list.length) throw new InvalidArgumentError('--delegate needs at least one of cpu, xnnpack, gpu, nnapi.');
  for (const d of list) {
    if (!(DELEGATES as readonly string[]).includes(d)) throw new InvalidArgumentError(`'${d}' is not a delegate: use cpu, xnnpack, gpu or nnapi (comma-separated for a matrix).`);
  }
  return [...new Set(list)] as Delegate[];
}

export function parseThreads(v: string): number[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (!list.length) throw new InvalidArgumentError('--threads needs at least one number.');
  const out = list.map((t) => {
    if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 64) throw new InvalidArgumentError(`'${t}' is not a thread count (1–64).`);
    return Number(t);
  });
  return [...new Set(out)];
}

interface BenchOptions {
  device?: string;
  delegate?: Delegate[];
  threads?: number[];
  runs: number;
  warmup: number;
  profile?: boolean;
  benchmarkBinary?: string;
  adbServer: string[];
  nnapiAccelerator?: string;
  extraFlags?: string;
  runTimeout?: number;
  stepTimeout?: number;
  name?: string;
}

const ms = (us: number | null) => (us === null ? '-' : (us / 1000).toFixed(3));

export function registerBench(program: Command, context: () => CliContext): void {
  program
    .command('bench')
    .description('measure latency on an Android phone over adb (benchmark_model: delegates × threads) or, without --device, on the desktop runtime; records an experiment')
    .argument('<model>', 'model file (.tflite)')
    .option('--device <serial>', 'the phone (serial from `quantlab devices`); without it, the desktop QuantLab runtime is measured')
    .option('--delegate <list>', 'cpu, xnnpack, gpu, nnapi, comma-separated for a matrix (default cpu)', parseDelegates)
    .option('--threads <list>', 'CPU threads, comma-separated for a matrix (default 1)', parseThreads)
    .option('--runs <n>', 'timed runs', positive, 50)
    .option('--warmup <n>', 'warm-up runs', nonNegative, 1)
    .option('--profile', 'per-op profile (benchmark_model --enable_op_profiling)')
    .option('--benchmark-binary <path>', "TFLite's benchmark_model for the phone (arm64); pushed once, checked by hash")
    .option('--nnapi-accelerator <name>', 'NNAPI accelerator for the nnapi delegate (e.g. qti-dsp)')
    .option('--extra-flags <flags>', 'more benchmark_model flags, e.g. "--use_fp16=true --max_delegated_partitions=5"')
    .option('--adb-server <host:port>', 'adb server (repeatable; default $ANDROID_ADB_SERVER_PORT or 127.0.0.1:5037)', collectServers, [])
    .option('--run-timeout <seconds>', 'time limit of each run on the phone', seconds, 600)
    .option('--step-timeout <seconds>', 'time limit of each other step (hash, push bookkeeping, getprop)', seconds, 30)
    .option('--name <name>', 'experiment name')
    .action(async (model: string, opts: BenchOptions) => {
      const ctx = context();
      const file = path.resolve(model);
      try {
        fs.accessSync(file, fs.constants.R_OK);
      } catch (e) {
        throw new UserError('bad-input', `Model file '${file}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
      }
      const delegates = opts.delegate ?? ['cpu'];
      const threads = opts.threads ?? [1];
      const extraFlags = checkExtraFlags(opts.extraFlags ? splitUserFlags(opts.extraFlags) : []);
      let params: BenchParams;
      if (opts.device) {
        if (opts.nnapiAccelerator !== undefined && !delegates.includes('nnapi')) {
          throw new UserError('bad-argument', '--nnapi-accelerator applies to the nnapi delegate: add nnapi to --delegate.');
        }
        if (opts.benchmarkBinary) {
          const bin = path.resolve(opts.benchmarkBinary);
          if (!fs.existsSync(bin) || !fs.statSync(bin).isFile()) throw new UserError('bad-input', `The benchmark binary '${bin}' does not exist.`);
          opts.benchmarkBinary = bin;
        }
        // Refuse a device that is not there or not ready before anything is recorded.
        const service = new DeviceService({ servers: serversFromFlag(opts.adbServer) });
        const info = await service.get(opts.device);
        if (info.status !== 'device') throw new UserError('device-not-ready', `The device '${info.serial}' is ${info.state}: ${info.hint}`);
        const server = service.servers.find((s) => s.label === info.server)!;
        params = {
          modelPath: file,
          target: { kind: 'device', server, serial: info.serial },
          delegates: delegates.map((d) => ({ delegate: d, accelerator: d === 'nnapi' ? (opts.nnapiAccelerator ?? null) : null })),
          threads,
          runs: opts.runs,
          warmup: opts.warmup,
          profile: Boolean(opts.profile),
          benchmarkBinary: opts.benchmarkBinary ?? null,
          extraFlags,
          timeouts: { runMs: (opts.runTimeout ?? 600) * 1000, stepMs: (opts.stepTimeout ?? 30) * 1000 },
        };
      } else {
        if (delegates.some((d) => d !== 'cpu')) throw new UserError('bad-argument', `--delegate ${delegates.join(',')} needs a phone (--device SERIAL): the desktop runtime has no delegates.`);
        if (threads.some((t) => t !== 1)) throw new UserError('bad-argument', 'The desktop QuantLab runtime runs on one thread: drop --threads, or add --device SERIAL.');
        for (const [flag, set] of [['--benchmark-binary', opts.benchmarkBinary], ['--nnapi-accelerator', opts.nnapiAccelerator], ['--extra-flags', opts.extraFlags]] as const) {
          if (set !== undefined) throw new UserError('bad-argument', `${flag} applies to phones: add --device SERIAL.`);
        }
        params = { modelPath: file, target: { kind: 'desktop' }, delegates: [{ delegate: 'cpu', accelerator: null }], threads: [1], runs: opts.runs, warmup: opts.warmup, profile: true, benchmarkBinary: null, extraFlags: [] };
      }
      const where = params.target.kind === 'device' ? params.target.serial : 'desktop';
      const { experimentId, result } = await runJobFromCli(ctx, {
        kind: 'bench',
        name: opts.name ?? `bench ${path.basename(file)} on ${where}`,
        params,
        config: { verb: 'bench', ...params },
      });
      const summary = result.summary as { runs: BenchRunSummary[]; serial: string; server: string; device: Record<string, unknown> };
      const runs = summary.runs.map((r) => ({ ...r, experimentId }));
      ctx.exitCode = runs.every((r) => r.status === 'completed') ? 0 : 1;
      if (ctx.json) return ctx.printJson({ experimentId, ...summary, runs });
      const d = summary.device as { manufacturer?: string | null; model?: string | null; androidVersion?: string | null; sdk?: number | null; cpu?: string | null };
      ctx.print(
        params.target.kind === 'device'
          ? `${path.basename(file)} on ${summary.serial} (${[d.manufacturer, d.model].filter(Boolean).join(' ')}, Android ${d.androidVersion ?? '?'}, SDK ${d.sdk ?? '?'}) via ${summary.server}`
          : `${path.basename(file)} on the desktop QuantLab runtime (${d.cpu ?? 'CPU'}, one thread)`,
      );
      ctx.print(`${'delegate'.padEnd(14)} ${'threads'.padStart(7)} ${'avg ms'.padStart(9)} ${'std ms'.padStart(8)} ${'init ms'.padStart(9)} ${'first ms'.padStart(9)}  delegated`);
      for (const r of runs) {
        const name = `${r.delegate}${r.accelerator ? `:${r.accelerator}` : ''}`;
        if (r.status !== 'completed') {
          ctx.print(`${name.padEnd(14)} ${String(r.threads).padStart(7)}  ${r.status.toUpperCase()}: ${r.error}`);
          continue;
        }
        const delegated =
          r.nodesDelegated === null ? '-' : `${r.nodesDelegated}/${r.nodesTotal ?? '?'} nodes, ${r.partitions ?? '?'} partition${r.partitions === 1 ? '' : 's'}${r.staticShapeWarning ? ' (dynamic shapes: delegate refused)' : ''}`;
        ctx.print(`${name.padEnd(14)} ${String(r.threads).padStart(7)} ${ms(r.avgUs).padStart(9)} ${ms(r.stdUs).padStart(8)} ${ms(r.initUs).padStart(9)} ${ms(r.firstUs).padStart(9)}  ${delegated}`);
      }
      ctx.print(`experiment ${experimentId}`);
    });
}
