/**
 * Parallel evaluation (src/main/jobs/parallel-eval.ts) gives exactly the serial loop's outputs
 * and predictions, in sample order, whatever the worker count and chunking: the seed's MNIST
 * architecture, float32 from .tflite bytes and int8 from an IR graph, on real MNIST digits.
 * (Speed is measured in bench/parallel-eval.ts, not here.)
 */
import { describe, expect, it } from 'vitest';
import { floatGraph, mnistNet } from '../../../bench/models';
import { int8Graph, quantizeNet } from '../../../bench/quantize';
import { openDataset } from '../../../src/core/data/dataset';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import type { Graph, TensorData } from '../../../src/core/ir/types';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import { argmaxOf, evaluateInParallel, evaluateSamples, startEvalPool } from '../../../src/main/jobs/parallel-eval';

const COUNT = 1200;

async function digits(): Promise<Float32Array> {
  const ds = await openDataset(`mnist:test@${COUNT}`, { inputShape: [1, 28, 28, 1] });
  const x = new Float32Array(COUNT * 784);
  for (let i = 0; i < COUNT; i++) ds.sample(i, x.subarray(i * 784, (i + 1) * 784));
  return x;
}

function serial(graph: Graph, x: Float32Array): { outputs: number[]; argmax: Int32Array } {
  const it = Interpreter.prepare(graph, { rounding: 'xnnpack' });
  const outputs: number[] = [];
  const argmax = new Int32Array(COUNT);
  for (let i = 0; i < COUNT; i++) {
    const out = it.run([x.subarray(i * 784, (i + 1) * 784)]).outputs[0];
    argmax[i] = argmaxOf(out as Float32Array, 0, out.length);
    outputs.push(...(out as Float32Array));
  }
  return { outputs, argmax };
}

describe('evaluateInParallel', () => {
  const q = quantizeNet(mnistNet(4), 8);
  for (const [name, graph, model] of [
    ['float32 (.tflite bytes)', floatGraph(mnistNet(4)), (g: Graph) => ({ bytes: writeTflite({ format: 'tflite', subgraphs: [g], description: 'mnist' }) })],
    ['int8 (IR graph)', int8Graph(q, 1), (g: Graph) => ({ graph: g })],
  ] as const) {
    it(`${name}: the same outputs and predictions as the serial loop, in order (2 and 3 workers, several chunks)`, async () => {
      const x = await digits();
      const want = serial(graph, x);
      for (const workers of [2, 3]) {
        const got = await evaluateSamples({ model: model(graph), rounding: 'xnnpack', inputShape: [1, 28, 28, 1], inputDtype: 'float32', count: COUNT, inputs: x, workers, chunkSamples: 500 });
        expect(got.workers).toBe(workers);
        expect(Array.from(got.argmax)).toEqual(Array.from(want.argmax));
        expect(Array.from(got.outputs[0] as Float32Array)).toEqual(want.outputs);
        expect(got.runMs).toBeGreaterThan(0);
      }
      // and the predictions are not degenerate
      expect(new Set(want.argmax).size).toBeGreaterThan(3);
    }, 60_000);
  }

  it('with the calling thread evaluating too (local): the same outputs, in order, whoever ran which chunk', async () => {
    const x = await digits();
    const graph = floatGraph(mnistNet(4));
    const want = serial(graph, x);
    const bytes = writeTflite({ format: 'tflite', subgraphs: [graph], description: 'mnist' });
    for (const [workers, chunkSamples] of [[1, 40], [2, 4096]] as const) {
      const local = Interpreter.prepare(graph, { rounding: 'xnnpack', inputShapes: [[1, 28, 28, 1]] });
      const got = await evaluateSamples({ model: { bytes }, rounding: 'xnnpack', inputShape: [1, 28, 28, 1], inputDtype: 'float32', count: COUNT, inputs: x, workers, chunkSamples, local });
      expect(got.workers).toBe(workers);
      expect(got.threads).toBe(workers + 1);
      expect(got.localSamples).toBeGreaterThan(0);
      expect(got.localSamples).toBeLessThanOrEqual(COUNT);
      expect(Array.from(got.argmax)).toEqual(Array.from(want.argmax));
      expect(Array.from(got.outputs[0] as Float32Array)).toEqual(want.outputs);
    }
  }, 60_000);

  it('a pool started ahead (startEvalPool) serves an evaluation with the same outputs; a pool for another rounding is refused', async () => {
    const x = await digits();
    const graph = int8Graph(q, 1);
    const want = serial(graph, x);
    const model = { graph };
    const pool = startEvalPool({ model, rounding: 'xnnpack', workers: 2 });
    try {
      await pool.spawned();
      const got = await evaluateSamples({ model, pool, rounding: 'xnnpack', inputShape: [1, 28, 28, 1], inputDtype: 'float32', count: COUNT, inputs: x, chunkSamples: 200 });
      expect(got.workers).toBe(2);
      expect(Array.from(got.outputs[0] as Float32Array)).toEqual(want.outputs);
      await expect(evaluateSamples({ model, pool, rounding: 'double-rounding', inputShape: [1, 28, 28, 1], inputDtype: 'float32', count: 10, inputs: x })).rejects.toThrow(/another model, rounding or int8 backend/);
    } finally {
      await pool.close();
    }
    await expect(pool.workers()).rejects.toThrow(/closed/);
  }, 60_000);

  it('with the calling thread evaluating, workers that cannot start only cost speed: it finishes alone, same outputs', async () => {
    const x = await digits();
    const graph = int8Graph(q, 1);
    const want = serial(graph, x);
    const it = Interpreter.prepare(graph, { rounding: 'xnnpack', inputShapes: [[1, 28, 28, 1]] });
    // 1 ms per sample on this thread (≥ 1.2 s in all), so the workers fail while it still works
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const local = { outputs: it.outputs, run: (inputs: readonly TensorData[]) => (Atomics.wait(pause, 0, 0, 1), it.run(inputs)) };
    // the workers get bytes no reader accepts; the calling thread's interpreter is fine
    const got = await evaluateSamples({ model: { bytes: new Uint8Array(16) }, rounding: 'xnnpack', inputShape: [1, 28, 28, 1], inputDtype: 'float32', count: COUNT, inputs: x, workers: 2, local });
    expect(got.localSamples).toBe(COUNT);
    expect(Array.from(got.outputs[0] as Float32Array)).toEqual(want.outputs);
  }, 60_000);

  it('a model the runtime refuses fails with the user error, and the workers are gone', async () => {
    const bad = { bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) };
    await expect(
      evaluateInParallel({ model: bad, rounding: 'xnnpack', inputShape: [1, 4], inputDtype: 'float32', count: 10, workers: 2, fill: () => undefined, consume: () => undefined }),
    ).rejects.toThrow(/./);
  });

  it('an error thrown while consuming stops the evaluation', async () => {
    const x = await digits();
    let chunks = 0;
    await expect(
      evaluateInParallel({
        model: { graph: int8Graph(q, 1) }, rounding: 'xnnpack', inputShape: [1, 28, 28, 1], inputDtype: 'float32', count: COUNT, workers: 2, chunkSamples: 300,
        fill: (s, e, into: TensorData) => (into as Float32Array).set(x.subarray(s * 784, e * 784)),
        consume: () => {
          if (++chunks === 2) throw new Error('cancelled by the test');
        },
      }),
    ).rejects.toThrow('cancelled by the test');
    expect(chunks).toBe(2);
  }, 60_000);
});

describe('the eval job spreads ≥ 1,000 samples over workers', () => {
  it('the same predictions, accuracy and output statistics as its serial loop (forced by a reference model)', async () => {
    const { evalJob } = await import('../../../src/main/jobs/kinds/eval');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlab-parallel-eval-'));
    try {
      const file = path.join(dir, 'mnist.tflite');
      const g = floatGraph(mnistNet(4));
      fs.writeFileSync(file, writeTflite({ format: 'tflite', subgraphs: [g], description: 'mnist' }));
      const run = async (referencePath?: string) => {
        const puts: Uint8Array[] = [];
        const logs: string[] = [];
        const ctx = {
          jobId: 'test', workspaceDir: dir, signal: new AbortController().signal,
          params: { modelPath: file, data: `mnist:test@${COUNT}`, rounding: 'xnnpack' as const, ...(referencePath ? { referencePath } : {}) },
          progress: () => undefined,
          log: (_level: string, m: string) => void logs.push(m),
          putArtifact: (bytes: Uint8Array) => (puts.push(bytes.slice()), { sha256: String(puts.length), sizeBytes: bytes.length }),
          throwIfCancelled: () => undefined,
        };
        const result = await evalJob(ctx);
        return { result, predictions: puts[1], logs };
      };
      const parallel = await run();
      const serial = await run(file);
      expect(parallel.logs.join('\n')).toMatch(/on \d+ threads \(\d+ worker thread/);
      expect(serial.logs.join('\n')).not.toMatch(/worker thread/);
      expect(Array.from(parallel.predictions)).toEqual(Array.from(serial.predictions));
      const summary = (r: typeof parallel) => r.result.summary as Record<string, unknown>;
      expect(summary(parallel).accuracy).toBe(summary(serial).accuracy);
      const metric = (r: typeof parallel, name: string) => r.result.metrics!.find((m) => m.name === name)!.value;
      expect(metric(parallel, 'output-mean')).toBe(metric(serial, 'output-mean'));
      expect(metric(parallel, 'output-rms')).toBe(metric(serial, 'output-rms'));
      expect(parallel.result.dataset).toEqual(serial.result.dataset);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
