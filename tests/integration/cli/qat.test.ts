/**
 * `quantlab qat` as a user runs it (a real process, a real workspace), on a tiny run of the MNIST
 * demo model: the --json contract of issue 7, the file equal to its artifact, nothing else written;
 * and the `qat` job cancelled mid-training in a real worker thread: recorded as cancelled, no
 * output file and no temporary file left. The training itself is tested in tests/integration/qat.
 */
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { JobRunner } from '../../../src/main/jobs/runner';
import { defaultQatParams } from '../../../src/main/jobs/kinds/qat';
import { WorkspaceStore } from '../../../src/main/store';
import type { JobProgress } from '../../../src/shared/api/contract';

const BIN = path.resolve(__dirname, '../../../bin/quantlab.mjs');
const MNIST_DEMO = path.resolve(__dirname, '../../../resources/models/mnist-demo.tflite');

function quantlab(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('quantlab qat', () => {
  it('trains, writes the int8 model and prints the JSON the issue asks for', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-qat-'));
    const ws = path.join(dir, 'ws');
    const out = path.join(dir, 'mnist-qat.tflite');
    const r = quantlab(['--workspace', ws, '--json', 'qat', MNIST_DEMO, '--train', 'mnist:train@128', '--val', 'mnist:test@64', '--out', out, '--epochs', '1', '--batch', '32', '--lr', '1e-4', '--calib-samples', '64', '--ptq-samples', '64']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of ['output', 'floatAccuracy', 'ptqAccuracy', 'qatAccuracy', 'epochs', 'seconds', 'backend', 'experimentId']) expect(j).toHaveProperty(key);
    expect(j.output).toBe(out);
    expect(j.epochs).toBe(1);
    expect(['tensorflow', 'wasm', 'cpu']).toContain(j.backend);
    for (const key of ['floatAccuracy', 'ptqAccuracy', 'qatAccuracy']) {
      expect(j[key]).toBeGreaterThan(0.7);
      expect(j[key]).toBeLessThanOrEqual(1);
    }
    expect(j.seconds).toBeGreaterThan(0);
    expect(j.val).toBe('mnist:test@64');
    const bytes = fs.readFileSync(out);
    expect(fs.readdirSync(dir).sort()).toEqual(['mnist-qat.tflite', 'ws']);
    const sha = crypto.createHash('sha256').update(bytes).digest('hex');
    expect(fs.existsSync(path.join(ws, 'artifacts', sha.slice(0, 2), sha))).toBe(true);
    const g = readTflite(new Uint8Array(bytes), 'mnist-qat.tflite').subgraphs[0];
    expect(g.ops.map((o) => o.type)).toEqual(['QUANTIZE', 'CONV_2D', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'DEQUANTIZE']);
  });

  it('refuses a bad --ranges value as usage (exit 2) and a missing model as a user error (exit 1)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-qat-'));
    const bad = quantlab(['--workspace', path.join(dir, 'ws'), 'qat', MNIST_DEMO, '--train', 'mnist:train', '--val', 'mnist:test', '--out', path.join(dir, 'x.tflite'), '--ranges', 'kl']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'kl' is not a range mode (ema, lsq)");
    const missing = quantlab(['--workspace', path.join(dir, 'ws'), 'qat', path.join(dir, 'nope.tflite'), '--train', 'mnist:train', '--val', 'mnist:test', '--out', path.join(dir, 'x.tflite')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.tflite');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('the qat job', () => {
  it('cancelled mid-training: recorded as cancelled, no output and no temporary file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-qat-cancel-'));
    const store = WorkspaceStore.open(path.join(dir, 'ws'));
    const events: JobProgress[] = [];
    const runner = new JobRunner(store, { emit: (p) => events.push(p), progressIntervalMs: 0 });
    const out = path.join(dir, 'never.tflite');
    const { jobId, experimentId, done } = runner.submit({
      kind: 'qat',
      params: defaultQatParams({ modelPath: MNIST_DEMO, outPath: out, train: 'mnist:train@2000', val: 'mnist:test@64', epochs: 3, ptqSamples: 64, calibrationSamples: 64 }),
      experiment: { name: 'qat to cancel', config: {}, appVersion: 'test' },
    });
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (events.some((e) => e.stage.startsWith('training epoch 1/3') && e.done > 0)) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    expect(runner.cancel(jobId)).toBe(true);
    const outcome = await done;
    expect(outcome.job.status).toBe('cancelled');
    const e = store.getExperiment(experimentId);
    expect(e.status).toBe('cancelled');
    expect(e.artifacts).toEqual([]);
    expect(store.getJob(jobId).done).toBeLessThan(3 * 63);
    expect(fs.readdirSync(dir)).toEqual(['ws']);
    await runner.shutdown();
    store.close();
  });
});
