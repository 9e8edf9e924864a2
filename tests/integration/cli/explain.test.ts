/**
 * `quantlab explain` on an int8 CONV_2D model: the text and --json traces, the traced q3 against
 * the real TFLite interpreter (constant weights: XNNPACK, so rounding 'xnnpack'), a float twin for
 * the float value, float .npy input quantized with the input's parameters, and the sentences for
 * a bad --op or --index.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../../src/core/data/npy';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import { singleOpModel } from '../../helpers/tflite-model';
import { loadOracle } from '../../helpers/tflite-oracle';

const BIN = path.resolve(__dirname, '../../../bin/quantlab.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-explain-'));
const modelFile = path.join(dir, 'conv-int8.tflite');
const floatFile = path.join(dir, 'conv-float.tflite');
const inFile = path.join(dir, 'x.npy');
const floatInFile = path.join(dir, 'x-float.npy');

const S_IN = 0.05;
const Z_IN = 3;
const S_OUT = 0.1;
const S_W = [0.004, 0.002, 0.0031, 0.25];
let seed = 7;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const x = new Int8Array(72).map(() => Math.round(rand() * 255) - 128);

function quantlab(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  const weights = new Int8Array(4 * 3 * 3 * 2).map(() => Math.round(rand() * 254) - 127);
  const bias = new Int32Array(4).map(() => Math.round(rand() * 2000) - 1000);
  const options = { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'RELU' } as const;
  const model = singleOpModel({
    type: 'CONV_2D',
    options,
    inputs: [
      { name: 'x', dtype: 'int8', shape: [1, 6, 6, 2], quant: { scale: [S_IN], zeroPoint: [Z_IN] } },
      { name: 'w', dtype: 'int8', shape: [4, 3, 3, 2], data: weights, quant: { scale: S_W, zeroPoint: [0, 0, 0, 0], axis: 0 } },
      { name: 'b', dtype: 'int32', shape: [4], data: bias, quant: { scale: S_W.map((s) => s * S_IN), zeroPoint: [0, 0, 0, 0], axis: 0 } },
    ],
    outputs: [{ name: 'y', dtype: 'int8', quant: { scale: [S_OUT], zeroPoint: [-5] } }],
  });
  fs.writeFileSync(modelFile, writeTflite(model));
  // The float model it stands for: dequantized weights and bias, same tensor names.
  const f = Math.fround;
  const floatModel = singleOpModel({
    type: 'CONV_2D',
    options,
    inputs: [
      { name: 'x', dtype: 'float32', shape: [1, 6, 6, 2] },
      { name: 'w', dtype: 'float32', shape: [4, 3, 3, 2], data: Float32Array.from(weights, (q, i) => f(S_W[Math.floor(i / 18)]) * q) },
      { name: 'b', dtype: 'float32', shape: [4], data: Float32Array.from(bias, (q, c) => f(S_IN) * f(S_W[c]) * q) },
    ],
    outputs: [{ name: 'y', dtype: 'float32' }],
  });
  fs.writeFileSync(floatFile, writeTflite(floatModel));
  fs.writeFileSync(inFile, writeNpy({ dtype: 'int8', shape: [1, 6, 6, 2], data: x }));
  fs.writeFileSync(floatInFile, writeNpy({ dtype: 'float32', shape: [1, 6, 6, 2], data: Float32Array.from(x, (q) => f(S_IN) * (q - Z_IN)) }));
});

describe('quantlab explain', () => {
  it('--json: the traced q3 of several elements equals the TFLite interpreter, with every step', async () => {
    const oracle = await loadOracle();
    const y = oracle.run(new Uint8Array(fs.readFileSync(modelFile)), [x]).outputs[0] as Int8Array;
    for (const index of [0, 17, 63, 100, 143]) {
      const r = quantlab(['--json', 'explain', modelFile, '--op', 'y', '--index', String(index), '--input', inFile, '--float', floatFile]);
      expect(r.code, r.stderr).toBe(0);
      const t = JSON.parse(r.stdout);
      expect(t.rounding).toBe('xnnpack');
      expect(t.requantization.arithmetic).toBe('xnnpack');
      expect(t.q3).toBe(y[index]);
      expect(t.matches).toBe(true);
      expect(t.element.channel).toBe(index % 4);
      expect(t.terms.length + t.paddedTaps).toBe(18);
      const acc = t.terms.reduce((a: number, term: { q1: number; q2: number }) => a + (term.q1 - Z_IN) * term.q2, 0);
      expect(t.accumulator).toBe(acc);
      expect(t.float.source).toBe('float-model');
      expect(t.float.tensor).toBe('y');
      expect(Math.abs(t.dequantized - t.float.value)).toBeLessThanOrEqual(S_OUT / 2 + 1e-6);
    }
  });

  it('text: prints the pipeline from the window to the float value, in the chosen rounding', () => {
    const r = quantlab(['explain', modelFile, '--op', '0', '--index', '0,2,3,3', '--input', inFile, '--rounding', 'double']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/op 0 'y' \(CONV_2D\), element 63 = \[0, 2, 3, 3\] \(output channel 3\); rounding double-rounding; input from /);
    expect(out).toMatch(/S1 = 0\.05\d*\s+Z1 = 3/);
    expect(out).toMatch(/window: 18 products/);
    expect(out).toMatch(/acc {3}= Σ \(q1 − Z1\)\(q2 − Z2\)\s+= -?\d+/);
    expect(out).toMatch(/requantize with double rounding/);
    expect(out).toMatch(/M = S1·S2\/S3 = 0\.125\s+M0 = 1073741824\s+shift = -2/);
    expect(out).toMatch(/clamp to \[-5, 127\] \(int8 range ∩ fused RELU\) → q3 = -?\d+/);
    expect(out).toMatch(/interpreter wrote q3 = -?\d+: the same/);
    expect(out).toMatch(/float value\s+= .*the float op on the dequantized input, weights and bias/);
  });

  it('quantizes a float32 .npy input with the input parameters; seeded random input without --input', () => {
    const a = JSON.parse(quantlab(['--json', 'explain', modelFile, '--op', 'y', '--index', '77', '--input', inFile]).stdout);
    const b = JSON.parse(quantlab(['--json', 'explain', modelFile, '--op', 'y', '--index', '77', '--input', floatInFile]).stdout);
    expect(b.terms).toEqual(a.terms);
    expect(b.q3).toBe(a.q3);
    const r1 = JSON.parse(quantlab(['--json', 'explain', modelFile, '--op', 'y', '--index', '77', '--seed', '4']).stdout);
    const r2 = JSON.parse(quantlab(['--json', 'explain', modelFile, '--op', 'y', '--index', '77', '--seed', '4']).stdout);
    expect(r1.seed).toBe(4);
    expect(r1.terms).toEqual(r2.terms);
    expect(r1.matches).toBe(true);
  });

  it('a bad --op name or index, or an element outside the output, is exit 1 with a sentence naming the op and the valid range', () => {
    const byName = quantlab(['explain', modelFile, '--op', 'conv9', '--index', '3']);
    expect(byName.code).toBe(1);
    expect(byName.stderr).toBe(
      "quantlab: No op is named 'conv9' in the graph; give an index from 0 to 0 or a name (integer CONV_2D/DEPTHWISE_CONV_2D/FULLY_CONNECTED ops here: 0 'y' (CONV_2D)).\n",
    );
    const byIndex = quantlab(['--json', 'explain', modelFile, '--op', '4', '--index', '3']);
    expect(byIndex.code).toBe(1);
    expect(JSON.parse(byIndex.stdout).error.message).toMatch(/^Op index 4 is out of range: the graph has 1 op \(0 to 0\); .*0 'y' \(CONV_2D\)\.$/);
    const element = quantlab(['explain', modelFile, '--op', 'y', '--index', '144']);
    expect(element.code).toBe(1);
    expect(element.stderr).toMatch(/Element 144 is outside the output of Op 0 'y' \(CONV_2D\), which has 144 elements \(shape \[1, 6, 6, 4\]\): give 0 to 143/);
    const usage = quantlab(['explain', modelFile, '--op', 'y', '--index', 'a,b']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/'a,b' is not an element index/);
  });
});
