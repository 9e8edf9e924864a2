/**
 * `quantlab demo [--json]`: the main job on built-in data, no network, no phone. On the shipped
 * MNIST demo model (resources/models/mnist-demo.tflite): float evaluation, post-training
 * quantization with two calibration methods (each with its per-layer analysis and NNAPI/GPU
 * pre-flight), two epochs of quantization-aware training, each int8 model evaluated in QuantLab's
 * integer runtime and exported as .tflite, every step recorded as an experiment. Prints one table
 * (method, accuracy, size, desktop latency) and the workspace path.
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../core/errors';
import { defaultQatParams } from '../../main/jobs/kinds/qat';
import type { QuantizeParams } from '../../main/jobs/kinds/quantize';
import type { CliContext } from '../context';
import { runJobFromCli } from '../jobs';

export const DEMO_MODEL = fileURLToPath(new URL('../../../resources/models/mnist-demo.tflite', import.meta.url));
const CALIB = 'mnist:train@500';
const TEST = 'mnist:test';
const METHODS = ['minmax', 'percentile:99.99'] as const;
/** Android 11: the first NNAPI with signed int8 (1.3). */
const ANDROID_API = 30;

export interface DemoRow {
  method: string;
  precision: string;
  accuracy: number | null;
  sizeBytes: number;
  msPerSample: number;
  experimentId: string;
  output: string | null;
}

export function registerDemo(program: Command, context: () => CliContext): void {
  program
    .command('demo')
    .description('the main job on built-in data: float MNIST demo model → PTQ with two calibration methods and 2 epochs of QAT → integer-runtime evaluation, per-layer analysis, delegate pre-flight and int8 .tflite export, each recorded as an experiment')
    .action(async () => {
      const ctx = context();
      if (!fs.existsSync(DEMO_MODEL)) throw new UserError('bad-install', `The demo model '${DEMO_MODEL}' is missing; reinstall QuantLab or run 'npm run train:demo'.`);
      const workspace = ctx.workspaceForWriting();
      const outDir = path.join(workspace, 'demo');
      fs.mkdirSync(outDir, { recursive: true });
      const started = performance.now();
      const rows: DemoRow[] = [];
      const details = new Map<string, { worst: { layer: string; op: string; sqnrDb: number | null } | null; preflight: { delegate: string; summary: string }[] }>();
      const floatSize = fs.statSync(DEMO_MODEL).size;

      if (!ctx.json) ctx.print(`QuantLab demo: ${path.basename(DEMO_MODEL)} on the built-in MNIST digits (calibration ${CALIB}, test ${TEST})`);
      const floatRun = await runJobFromCli(ctx, {
        kind: 'eval',
        name: 'demo: float32 mnist-demo',
        params: { modelPath: DEMO_MODEL, data: TEST, rounding: 'xnnpack' },
        config: { verb: 'demo', step: 'float', modelPath: DEMO_MODEL, data: TEST },
        roundingMode: 'xnnpack',
      });
      const fs0 = floatRun.result.summary as { accuracy: number | null; msPerSample: number };
      rows.push({ method: 'float32', precision: 'float32', accuracy: fs0.accuracy, sizeBytes: floatSize, msPerSample: fs0.msPerSample, experimentId: floatRun.experimentId, output: null });

      for (const method of METHODS) {
        const out = path.join(outDir, `mnist-demo-int8-${method.replace(/[^a-z0-9.]+/gi, '-')}.tflite`);
        const params: QuantizeParams = {
          modelPath: DEMO_MODEL,
          outPath: out,
          calib: CALIB,
          recipe: 'int8',
          io: 'float',
          perChannel: true,
          calibration: method,
          samples: 500,
          keepFloat: [],
          seed: 0,
          rounding: 'xnnpack',
          evalData: TEST,
          analyze: { data: TEST, samples: 200 },
          preflight: { delegates: ['nnapi', 'gpu'], androidApi: ANDROID_API },
        };
        const run = await runJobFromCli(ctx, { kind: 'quantize', name: `demo: int8 PTQ ${method}`, params, config: { verb: 'demo', step: 'ptq', ...params }, seed: 0, roundingMode: 'xnnpack' });
        const s = run.result.summary as {
          sizeBytes: number;
          evaluation?: { accuracy: number | null; msPerSample: number };
          analysis?: { worstIsolated: { layer: string; op: string; sqnrDb: number | null } | null };
          preflight?: { delegate: string; summary: string }[];
        };
        details.set(run.experimentId, { worst: s.analysis?.worstIsolated ?? null, preflight: s.preflight ?? [] });
        rows.push({
          method: `PTQ int8 ${method}`,
          precision: 'int8',
          accuracy: s.evaluation?.accuracy ?? null,
          sizeBytes: s.sizeBytes,
          msPerSample: s.evaluation?.msPerSample ?? NaN,
          experimentId: run.experimentId,
          output: out,
        });
      }
      // Quantization-aware training of the same model, 2 epochs (about half a minute on two cores).
      const qatOut = path.join(outDir, 'mnist-demo-int8-qat.tflite');
      const qatParams = defaultQatParams({ modelPath: DEMO_MODEL, outPath: qatOut, train: 'mnist:train', val: TEST, epochs: 2, shiftPx: 1 });
      const qat = await runJobFromCli(ctx, { kind: 'qat', name: 'demo: int8 QAT, 2 epochs', params: qatParams, config: { verb: 'demo', step: 'qat', ...qatParams }, seed: qatParams.seed, roundingMode: 'xnnpack' });
      const qs = qat.result.summary as { qatAccuracy: number | null; sizeBytes: number; msPerSample: number; backend: string; epochs: number };
      rows.push({ method: `QAT int8 (${qs.epochs} epochs, ${qs.backend})`, precision: 'int8', accuracy: qs.qatAccuracy, sizeBytes: qs.sizeBytes, msPerSample: qs.msPerSample, experimentId: qat.experimentId, output: qatOut });

      const seconds = (performance.now() - started) / 1000;
      // The best integer row (accuracy, then size): its per-layer analysis and pre-flight are shown.
      const best = rows.filter((r) => r.precision !== 'float32').sort((a, b) => (b.accuracy ?? 0) - (a.accuracy ?? 0) || a.sizeBytes - b.sizeBytes)[0];
      const bestDetails = best ? details.get(best.experimentId) : undefined;
      if (ctx.json) {
        ctx.printJson({ workspace, model: DEMO_MODEL, calibration: CALIB, test: TEST, rows, best: best ? { experimentId: best.experimentId, method: best.method, ...bestDetails } : null, seconds });
        return;
      }
      const table = [['method', 'top-1', 'size', 'ms/sample', 'experiment'], ...rows.map((r) => [r.method, r.accuracy === null ? '–' : `${(100 * r.accuracy).toFixed(2)}%`, `${(r.sizeBytes / 1024).toFixed(1)} KiB`, r.msPerSample.toFixed(3), r.experimentId])];
      const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
      for (const row of table) ctx.print(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
      ctx.print(`accuracy on ${TEST} (2,000 digits held out from training); latency: QuantLab runtime on this machine, batch 1, 'xnnpack' rounding`);
      if (best && bestDetails) {
        const w = bestDetails.worst;
        ctx.print(`best int8 model: ${best.method}; per-layer analysis on 200 test digits: weakest layer (isolated) '${w?.layer ?? '–'}' (${w?.op ?? '–'}) at ${w?.sqnrDb === null || w?.sqnrDb === undefined ? '–' : `${w.sqnrDb.toFixed(1)} dB`} SQNR (all layers: quantlab experiments show ${best.experimentId})`);
        for (const pf of bestDetails.preflight) ctx.print(`pre-flight, Android API ${ANDROID_API}: ${pf.summary}`);
      }
      ctx.print(`int8 models: ${outDir}`);
      ctx.print(`workspace: ${workspace} (${seconds.toFixed(1)} s; see 'quantlab experiments')`);
    });
}
