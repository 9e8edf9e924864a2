/**
 * `inspect` shows the requantization the runtime really uses on an int8 model, and `run` executes
 * int8 models in the chosen rounding mode, bit-exact with the TFLite interpreter's XNNPACK path.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import { readNpy, writeNpy } from '../../../src/core/data/npy';
import { loadOracle } from '../../helpers/tflite-oracle';
import { singleOpModel } from '../../helpers/tflite-model';

const BIN = path.resolve(__dirname, '../../../bin/quantlab.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-int8-verbs-'));
const modelFile = path.join(dir, 'conv-int8.tflite');

// Per-channel weights whose multipliers include exact powers of two (ties) and ordinary values.
const S_IN = 0.05;
const S_OUT = 0.1;
const S_W = [0.004, 0.002, 0.0031, 0.25];
let seed = 11;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);

/** M0 and shift written independently of QuantLab: M = m·2^e with m in [0.5, 1), M0 = round(m·2^31). */
function expectedFixedPoint(M: number): { m0: number; shift: number } {
  let e = Math.floor(Math.log2(M)) + 1;
  let m = M / 2 ** e;
  if (m >= 1) {
    m /= 2;
    e += 1;
  }
  if (m < 0.5) {
    m *= 2;
    e -= 1;
  }
  let m0 = Math.round(m * 2 ** 31);
  if (m0 === 2 ** 31) {
    m0 /= 2;
    e += 1;
  }
  return { m0, shift: e };
}

function quantlab(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  const weights = new Int8Array(4 * 3 * 3 * 2).map(() => Math.round(rand() * 254) - 127);
  const bias = new Int32Array(4).map(() => Math.round(rand() * 2000) - 1000);
  const model = singleOpModel({
    type: 'CONV_2D',
    options: { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'RELU' },
    inputs: [
      { name: 'x', dtype: 'int8', shape: [1, 6, 6, 2], quant: { scale: [S_IN], zeroPoint: [3] } },
      { name: 'w', dtype: 'int8', shape: [4, 3, 3, 2], data: weights, quant: { scale: S_W, zeroPoint: [0, 0, 0, 0], axis: 0 } },
      { name: 'b', dtype: 'int32', shape: [4], data: bias, quant: { scale: S_W.map((s) => s * S_IN), zeroPoint: [0, 0, 0, 0], axis: 0 } },
    ],
    outputs: [{ name: 'y', dtype: 'int8', quant: { scale: [S_OUT], zeroPoint: [-5] } }],
  });
  fs.writeFileSync(modelFile, writeTflite(model));
});

describe('int8 in inspect and run', () => {
  it('inspect --json lists M, M0 and shift per output channel, as computed independently', () => {
    const r = quantlab(['--json', 'inspect', modelFile, '--rounding', 'double']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.rounding).toBe('double-rounding');
    const conv = report.requantization.find((q: { type: string }) => q.type === 'CONV_2D');
    expect(conv.arithmetic).toBe('double-rounding');
    S_W.forEach((sw, c) => {
      // The file stores scales as float32; TFLite's CONV_2D forms M from them in double.
      const M = (Math.fround(S_IN) * Math.fround(sw)) / Math.fround(S_OUT);
      expect(conv.real[c]).toBeCloseTo(M, 15);
      expect({ m0: conv.m0[c], shift: conv.shift[c] }).toEqual(expectedFixedPoint(M));
    });
    const human = quantlab(['inspect', modelFile]);
    expect(human.stdout).toMatch(/Requantization in rounding mode 'xnnpack'/);
    expect(human.stdout).toMatch(/CONV_2D .*xnnpack .*4×/);
  });

  it('run --rounding xnnpack equals the TFLite interpreter (constant weights: XNNPACK) element for element', async () => {
    const x = new Int8Array(72).map(() => Math.round(rand() * 255) - 128);
    const inFile = path.join(dir, 'x.npy');
    const outFile = path.join(dir, 'y.npy');
    fs.writeFileSync(inFile, writeNpy({ dtype: 'int8', shape: [1, 6, 6, 2], data: x }));
    const r = quantlab(['--json', 'run', modelFile, '--input', inFile, '--output', outFile, '--rounding', 'xnnpack']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).rounding).toBe('xnnpack');
    const ours = readNpy(new Uint8Array(fs.readFileSync(outFile)), 'y.npy');
    const oracle = await loadOracle();
    const { outputs } = oracle.run(new Uint8Array(fs.readFileSync(modelFile)), [x]);
    expect(ours.dtype).toBe('int8');
    expect(Array.from(ours.data as Int8Array)).toEqual(Array.from(outputs[0] as Int8Array));
    const bad = quantlab(['run', modelFile, '--input', inFile, '--output', outFile, '--rounding', 'banker']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'banker' is not a rounding mode/);
  });
});
