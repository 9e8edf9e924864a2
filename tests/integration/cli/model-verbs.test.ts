/**
 * The model verbs as a user runs them (a child process of bin/quantlab.mjs), checked against
 * facts counted independently from the files and against the real TFLite interpreter:
 *
 *   inspect  op histograms and parameter counts of the MediaPipe models (and a Keras model);
 *            quantization parameters of an int8 model; the peak from the runtime's memory plan
 *   run      face_detection_short_range on a seeded .npy equals the interpreter (rel. L2 ≤ 1e-5)
 *   convert  --legalize selfie_segmentation loads and runs in the interpreter and matches QuantLab
 *            on the original file; --batch 4 of a Keras model gives a [4,28,28,1] input
 *   errors   one line, exit 1 (2 for bad usage), and no file left behind
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main';
import { readNpy, writeNpy } from '../../../src/core/data/npy';
import { openModelFile } from '../../../src/core/formats/index';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import type { Graph, Model } from '../../../src/core/ir/types';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import type { TfliteOracle } from '../../helpers/tflite-oracle';
import { loadOracle } from '../../helpers/tflite-oracle';
import { randomFloats, relL2Error, rng } from '../../unit/core/runtime/reference';

const root = path.resolve(__dirname, '../../..');
const BIN = path.join(root, 'bin/quantlab.mjs');
const require = createRequire(import.meta.url);
const pkgFile = (pkg: string, file: string) => path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
const FACE_SHORT = pkgFile('@mediapipe/face_detection', 'face_detection_short_range.tflite');
const FACE_FULL = pkgFile('@mediapipe/face_detection', 'face_detection_full_range.tflite');
const SELFIE = pkgFile('@mediapipe/selfie_segmentation', 'selfie_segmentation.tflite');
const KERAS_DIR = path.resolve(root, '..', 'shared', 'keras-mnist');
const KERAS_CNN = path.join(KERAS_DIR, 'k2_seq_cnn.h5');
const haveKeras = fs.existsSync(KERAS_CNN);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-model-verbs-'));
/** A workspace path that must never come into existence: these verbs record nothing. */
const WORKSPACE = path.join(tmp, 'workspace-never-created');

function quantlab(args: string[], cwd = tmp) {
  const r = spawnSync(process.execPath, [BIN, '--workspace', WORKSPACE, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T = Record<string, unknown>>(r: { code: number | null; stdout: string; stderr: string }): T {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

const readBytes = (f: string) => new Uint8Array(fs.readFileSync(f));

/** Op histogram counted straight from the file's graph: builtin name, or the custom op's code. */
function histogramOf(g: Graph): Record<string, number> {
  const h: Record<string, number> = {};
  for (const op of g.ops) {
    const k = op.type === 'CUSTOM' || op.type === 'UNKNOWN_BUILTIN' ? op.code : op.type;
    h[k] = (h[k] ?? 0) + 1;
  }
  return h;
}

/** Σ elements of the float constants (weights and biases; integer shape operands excluded). */
function floatConstantElements(g: Graph): number {
  return g.tensors.filter((t) => t.data && (t.dtype === 'float32' || t.dtype === 'float16')).reduce((a, t) => a + t.data!.length, 0);
}

let oracle: TfliteOracle;
beforeAll(async () => {
  oracle = await loadOracle();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface InspectJson {
  format: string;
  sizeBytes: number;
  inputs: { name: string; dtype: string; shape: number[] }[];
  outputs: { name: string; dtype: string; shape: number[] }[];
  opCount: number;
  opHistogram: { op: string; kind: string; count: number }[];
  customOps: { code: string; count: number; runsInQuantLab: boolean; legalizable: boolean }[];
  parameterCount: number;
  parameterBytes: number;
  totalMacs: number;
  runnable: boolean;
  notRunnableReason: string | null;
  peakActivationBytes: number | null;
  layers: { opIndex: number; op: string; macs: number | null; paramCount: number; foldedAtLoad: boolean }[];
  quantizedTensors: Record<string, unknown>[];
  notes: string[];
}

describe('quantlab inspect', () => {
  for (const [file, custom] of [
    [FACE_SHORT, []],
    [FACE_FULL, []],
    [SELFIE, ['Convolution2DTransposeBias']],
  ] as const) {
    it(`${path.basename(file)}: ops, custom ops, parameters, sizes and the runtime's peak, as counted from the file`, () => {
      const r = json<InspectJson>(quantlab(['--json', 'inspect', file]));
      const model = readTflite(readBytes(file), path.basename(file));
      const g = model.subgraphs[0];
      const counted = histogramOf(g);
      expect(Object.fromEntries(r.opHistogram.map((h) => [h.op, h.count]))).toEqual(counted);
      expect(r.opCount).toBe(g.ops.length);
      expect(r.customOps.map((c) => c.code)).toEqual(custom);
      if (custom.length) expect(r.customOps[0]).toEqual({ code: 'Convolution2DTransposeBias', count: 1, runsInQuantLab: true, legalizable: true });
      expect(r.parameterCount).toBe(floatConstantElements(g));
      expect(r.parameterCount).toBeGreaterThan(50_000);
      expect(r.sizeBytes).toBe(fs.statSync(file).size);
      expect(r.format).toBe('tflite');
      expect(r.inputs).toEqual(g.inputs.map((t) => ({ index: t, name: g.tensors[t].name, dtype: 'float32', shape: g.tensors[t].shape })));
      expect(r.outputs.map((o) => o.name)).toEqual(g.outputs.map((t) => g.tensors[t].name));
      expect(r.runnable).toBe(true);
      expect(r.peakActivationBytes).toBe(Interpreter.prepare(g).peakActivationBytes);
      // one row per op; the float16 DEQUANTIZEs are folded at load; every conv has MACs
      expect(r.layers).toHaveLength(g.ops.length);
      expect(r.layers.filter((l) => l.foldedAtLoad).length).toBe(counted.DEQUANTIZE);
      for (const l of r.layers) if (l.op.includes('CONV')) expect(l.macs, `${l.opIndex} ${l.op}`).toBeGreaterThan(0);
      expect(r.totalMacs).toBe(r.layers.reduce((a, l) => a + (l.foldedAtLoad ? 0 : (l.macs ?? 0)), 0));
      expect(r.quantizedTensors).toEqual([]);
    });
  }

  it('human output: aligned tables, the custom op named, and the workspace untouched', () => {
    const r = quantlab(['inspect', SELFIE]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(SELFIE);
    expect(r.stdout).toMatch(/^ {2}parameters {8}106,401, stored in /m);
    expect(r.stdout).toMatch(/^ {2}Convolution2DTransposeBias ×1: the QuantLab runtime runs it; 'convert --legalize' rewrites it as builtins$/m);
    const header = lines.findIndex((l) => /^\s+#\s+op\s+name\s+output\s+params\s+MACs\s+bytes r\+w\s+MAC\/byte$/.test(l));
    expect(header).toBeGreaterThan(0);
    // right-aligned numeric columns: every row of the table ends at the same column as the header's "MAC/byte"
    const rows = lines.slice(header + 1).filter((l) => /^\s+\d+\s{2}/.test(l));
    expect(rows.length).toBe(246 - 110);
    const macsEnd = lines[header].indexOf('MACs') + 4;
    for (const row of rows) expect(row[macsEnd - 1], row).toMatch(/[\d?]/);
    expect(r.stdout).toContain('Convolution2DTransposeBias*');
    expect(fs.existsSync(WORKSPACE)).toBe(false);
  });

  it.skipIf(!haveKeras)('a Keras model: unknown batch taken as 1 (said), parameters as Keras counts them; --input-shape scales the costs', async () => {
    const r = json<InspectJson & { analyzedInputShapes: { shape: number[] }[] }>(quantlab(['--json', 'inspect', KERAS_CNN]));
    expect(r.format).toBe('keras');
    expect(r.inputs[0].shape).toEqual([-1, 28, 28, 1]);
    expect(r.analyzedInputShapes[0].shape).toEqual([1, 28, 28, 1]);
    expect(r.notes[0]).toMatch(/^Input 'conv2d_input' has an unknown batch size \(\[\?,28,28,1\]\); costs and memory are for batch 1/);
    // 5·5·1·30+30 + 3·3·30·15+15 + 375·128+128 + 128·50+50 + 50·10+10
    expect(r.parameterCount).toBe(780 + 4065 + 48128 + 6450 + 510);
    expect(r.parameterCount).toBe(floatConstantElements((await openModelFile(KERAS_CNN)).subgraphs[0]));
    const r8 = json<InspectJson>(quantlab(['--json', 'inspect', KERAS_CNN, '--input-shape', 'conv2d_input=8,28,28,1']));
    expect(r8.totalMacs).toBe(8 * r.totalMacs);
    expect(r8.notes).toEqual([]);
  });

  it('an int8 model: scales and zero points listed (per-channel summarised)', async () => {
    const file = path.join(tmp, 'int8-conv.tflite');
    fs.writeFileSync(file, writeTflite(int8ConvModel()));
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['--json', 'inspect', file], { out: (t) => out.push(t), err: (t) => err.push(t) });
    expect(code, err.join('')).toBe(0);
    const r = JSON.parse(out.join('')) as InspectJson;
    expect(r.quantizedTensors).toEqual([
      { index: 0, name: 'input', dtype: 'int8', shape: [1, 4, 4, 2], scale: 0.5, zeroPoint: -3 },
      { index: 1, name: 'weights', dtype: 'int8', shape: [3, 1, 1, 2], axis: 0, channels: 3, minScale: Math.fround(0.1), maxScale: Math.fround(0.4), minZeroPoint: 0, maxZeroPoint: 0 },
      { index: 2, name: 'bias', dtype: 'int32', shape: [3], axis: 0, channels: 3, minScale: Math.fround(0.05), maxScale: Math.fround(0.2), minZeroPoint: 0, maxZeroPoint: 0 },
      { index: 3, name: 'output', dtype: 'int8', shape: [1, 4, 4, 3], scale: 0.25, zeroPoint: 1 },
    ]);
    // 16 pixels · 3 output channels · 2 input channels
    expect(r.totalMacs).toBe(96);
    const human: string[] = [];
    expect(await main(['inspect', file], { out: (t) => human.push(t), err: () => {} })).toBe(0);
    const text = human.join('');
    expect(text).toMatch(/^ {2}1 {2}'weights' {2}int8 {3}\[3,1,1,2\] {2}per axis 0 \(3 channels\): scale 0\.1000 … 0\.4000, zero point 0$/m);
    expect(text).toMatch(/^ {2}0 {2}'input' {4}int8 {3}\[1,4,4,2\] {2}scale 0\.5000, zero point -3$/m);
  });
  it('a model the runtime cannot run: no peak, the reason, costs from shape inference, the custom op named', async () => {
    const file = path.join(tmp, 'custom-op.tflite');
    const model: Model = {
      format: 'tflite',
      subgraphs: [
        {
          name: 'main',
          tensors: [
            { name: 'x', dtype: 'float32', shape: [1, 4, 4, 2] },
            { name: 'w', dtype: 'float32', shape: [3, 1, 1, 2], data: new Float32Array(6) },
            { name: 'b', dtype: 'float32', shape: [3], data: new Float32Array(3) },
            { name: 'conv', dtype: 'float32', shape: [1, 4, 4, 3] },
            { name: 'y', dtype: 'float32', shape: [1, 4, 4, 3] },
          ],
          ops: [
            { type: 'CONV_2D', options: { padding: 'SAME', strideH: 1, strideW: 1, dilationHFactor: 1, dilationWFactor: 1, fusedActivationFunction: 'NONE' }, inputs: [0, 1, 2], outputs: [3] },
            { type: 'CUSTOM', code: 'MyOp', inputs: [3], outputs: [4] },
          ],
          inputs: [0],
          outputs: [4],
        },
      ],
    };
    fs.writeFileSync(file, writeTflite(model));
    const out: string[] = [];
    expect(await main(['--json', 'inspect', file], { out: (t) => out.push(t), err: () => {} })).toBe(0);
    const r = JSON.parse(out.join('')) as InspectJson & { unknownCostOps: number[] };
    expect(r).toMatchObject({ runnable: false, peakActivationBytes: null, notRunnableReason: "Op 1 'y' is CUSTOM 'MyOp', which the QuantLab runtime does not implement." });
    expect(r.customOps).toEqual([{ code: 'MyOp', count: 1, runsInQuantLab: false, legalizable: false }]);
    expect(r.totalMacs).toBe(96);
    expect(r.unknownCostOps).toEqual([1]);
    const human: string[] = [];
    expect(await main(['inspect', file], { out: (t) => human.push(t), err: () => {} })).toBe(0);
    const text = human.join('');
    expect(text).toMatch(/^ {2}peak activations {2}unknown: the QuantLab runtime cannot run this model\. Op 1 'y' is CUSTOM 'MyOp', which the QuantLab runtime does not implement\.$/m);
    expect(text).toMatch(/^ {2}MyOp ×1: the QuantLab runtime does not run it; no builtin rewrite known$/m);
    expect(text).toMatch(/^ {2}MACs {14}96 \(96\) per inference, not counting 1 op\(s\) of unknown cost$/m);
  });
});

function int8ConvModel(): Model {
  const g: Graph = {
    name: 'main',
    tensors: [
      { name: 'input', dtype: 'int8', shape: [1, 4, 4, 2], quant: { scale: [0.5], zeroPoint: [-3] } },
      { name: 'weights', dtype: 'int8', shape: [3, 1, 1, 2], data: Int8Array.from([1, -2, 3, 4, -5, 6]), quant: { scale: [0.1, 0.2, 0.4], zeroPoint: [0, 0, 0], axis: 0 } },
      { name: 'bias', dtype: 'int32', shape: [3], data: Int32Array.from([10, -20, 30]), quant: { scale: [0.05, 0.1, 0.2], zeroPoint: [0, 0, 0], axis: 0 } },
      { name: 'output', dtype: 'int8', shape: [1, 4, 4, 3], quant: { scale: [0.25], zeroPoint: [1] } },
    ],
    ops: [
      {
        type: 'CONV_2D',
        options: { padding: 'SAME', strideH: 1, strideW: 1, dilationHFactor: 1, dilationWFactor: 1, fusedActivationFunction: 'NONE' },
        inputs: [0, 1, 2],
        outputs: [3],
      },
    ],
    inputs: [0],
    outputs: [3],
  };
  return { format: 'tflite', subgraphs: [g], description: 'int8 test model' };
}

describe('quantlab run', () => {
  it('face_detection_short_range on a seeded random .npy: outputs equal the TFLite interpreter (rel. L2 ≤ 1e-5), nothing recorded', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'run-'));
    const x = randomFloats(rng(42), 128 * 128 * 3, -1, 1);
    fs.writeFileSync(path.join(dir, 'in.npy'), writeNpy({ dtype: 'float32', shape: [1, 128, 128, 3], data: x }));
    const r = json<{ outputs: { name: string; dtype: string; shape: number[]; file: string }[]; timing: { runMs: number }; notes: string[] }>(
      quantlab(['--json', 'run', FACE_SHORT, '--input', 'in.npy', '--output', 'regressors.npy,classificators.npy'], dir),
    );
    expect(r.outputs).toEqual([
      { name: 'regressors', dtype: 'float32', shape: [1, 896, 16], file: 'regressors.npy' },
      { name: 'classificators', dtype: 'float32', shape: [1, 896, 1], file: 'classificators.npy' },
    ]);
    expect(r.timing.runMs).toBeGreaterThan(0);
    expect(r.notes).toEqual([]);
    const theirs = oracle.run(readBytes(FACE_SHORT), [x]).outputs;
    r.outputs.forEach((o, k) => {
      const ours = readNpy(readBytes(path.join(dir, o.file)), o.file);
      expect(ours.shape).toEqual(o.shape);
      const err = relL2Error(ours.data as Float32Array, theirs[k] as Float32Array);
      expect(err, `${o.name}: relative L2 ${err}`).toBeLessThanOrEqual(1e-5);
    });
    expect(fs.readdirSync(dir).sort()).toEqual(['classificators.npy', 'in.npy', 'regressors.npy']);
    expect(fs.existsSync(WORKSPACE)).toBe(false);
  });

  it('float64 .npy is read as float32 with a note; int8 input is fed to a model whose input is int8', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'run-types-'));
    // input int8 [1,4] (scale 0.5, zero point 2) → DEQUANTIZE → float32
    const model: Model = {
      format: 'tflite',
      subgraphs: [
        {
          name: 'main',
          tensors: [
            { name: 'q', dtype: 'int8', shape: [1, 4], quant: { scale: [0.5], zeroPoint: [2] } },
            { name: 'r', dtype: 'float32', shape: [1, 4] },
          ],
          ops: [{ type: 'DEQUANTIZE', options: {}, inputs: [0], outputs: [1] }],
          inputs: [0],
          outputs: [1],
        },
      ],
    };
    const file = path.join(dir, 'deq.tflite');
    fs.writeFileSync(file, writeTflite(model));
    fs.writeFileSync(path.join(dir, 'q.npy'), writeNpy({ dtype: 'int8', shape: [1, 4], data: Int8Array.from([2, 4, -128, 127]) }));
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    expect(await main(['--workspace', WORKSPACE, 'run', file, '--input', path.join(dir, 'q.npy'), '--output', path.join(dir, 'r.npy')], io), err.join('')).toBe(0);
    expect(Array.from(readNpy(readBytes(path.join(dir, 'r.npy')), 'r.npy').data as Float32Array)).toEqual([0, 1, -65, 62.5]);
    // a float32 file for that int8 input is refused
    fs.writeFileSync(path.join(dir, 'f.npy'), writeNpy({ dtype: 'float32', shape: [1, 4], data: new Float32Array(4) }));
    err.length = 0;
    expect(await main(['run', file, '--input', path.join(dir, 'f.npy'), '--output', path.join(dir, 'r2.npy')], io)).toBe(1);
    expect(err.join('')).toBe(`quantlab: input 'q' expects [1,4] int8 but ${path.join(dir, 'f.npy')} holds [1,4] float32.\n`);
    // float64 for a float32 model input: converted, with a note on stderr
    const x = randomFloats(rng(1), 128 * 128 * 3);
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 128, 128, 3), }";
    const pad = 128 - 10 - header.length - 1;
    const bytes = Buffer.concat([
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, pad + header.length + 1, 0]),
      Buffer.from(header + ' '.repeat(pad) + '\n', 'latin1'),
      Buffer.from(Float64Array.from(x).buffer),
    ]);
    fs.writeFileSync(path.join(dir, 'x64.npy'), bytes);
    err.length = 0;
    out.length = 0;
    expect(await main(['run', FACE_SHORT, '--input', path.join(dir, 'x64.npy'), '--output', `${path.join(dir, 'a.npy')},${path.join(dir, 'b.npy')}`], io)).toBe(0);
    expect(err.join('')).toBe(`note: ${path.join(dir, 'x64.npy')} holds float64 values; they were converted to float32 exactly.\n`);
    expect(out.join('')).toMatch(/^wrote .*a\.npy: 'regressors' float32 \[1,896,16\]\nwrote .*b\.npy: 'classificators' float32 \[1,896,1\]\nran in [\d.]+ ms/);
  });
});

describe('quantlab convert', () => {
  it('--legalize selfie_segmentation: the interpreter loads and runs it, matching `quantlab run` of the ORIGINAL file', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'convert-'));
    const r = json<{ legalized: { from: string; to: string[] }[]; remainingCustomOps: unknown[]; inputs: { shape: number[] }[]; dynamicTensors: string[] }>(
      quantlab(['--json', 'convert', SELFIE, '--out', 'selfie.tflite', '--legalize'], dir),
    );
    expect(r.legalized).toEqual([{ subgraph: 0, opIndex: 244, name: 'segment', from: "CUSTOM 'Convolution2DTransposeBias'", to: ['TRANSPOSE_CONV'] }]);
    expect(r.remainingCustomOps).toEqual([]);
    expect(r.dynamicTensors).toEqual([]);
    const converted = readBytes(path.join(dir, 'selfie.tflite'));
    expect(readTflite(converted).subgraphs[0].ops.some((o) => o.type === 'CUSTOM')).toBe(false);

    const x = randomFloats(rng(9), 256 * 256 * 3, -1, 1);
    fs.writeFileSync(path.join(dir, 'in.npy'), writeNpy({ dtype: 'float32', shape: [1, 256, 256, 3], data: x }));
    const run = quantlab(['run', SELFIE, '--input', 'in.npy', '--output', 'mask.npy'], dir);
    expect(run.code, run.stderr).toBe(0);
    const ourMask = readNpy(readBytes(path.join(dir, 'mask.npy')), 'mask.npy').data as Float32Array;

    // The interpreter on the converted file, with the logits (TRANSPOSE_CONV's output) as an extra output.
    const conv = readTflite(converted);
    const cg = conv.subgraphs[0];
    const logitsT = cg.ops.find((o) => o.type === 'TRANSPOSE_CONV')!.outputs[0];
    const withLogits = writeTflite({ ...conv, subgraphs: [{ ...cg, outputs: [...cg.outputs, logitsT] }] });
    const [theirMask, theirLogits] = oracle.run(withLogits, [x]).outputs as Float32Array[];

    // The logits before the final sigmoid: QuantLab on the original file (the custom op) vs the interpreter.
    const og = readTflite(readBytes(SELFIE)).subgraphs[0];
    const customOut = og.ops.find((o) => o.type === 'CUSTOM')!.outputs[0];
    expect(og.tensors[customOut].name).toBe(cg.tensors[logitsT].name);
    const ourLogits = Interpreter.prepare({ ...og, outputs: [customOut] }).run([x]).outputs[0] as Float32Array;
    const logitErr = relL2Error(ourLogits, theirLogits);
    expect(logitErr, `logits: relative L2 ${logitErr}`).toBeLessThanOrEqual(1e-5);

    // Random pixels are no person: the mask is tiny (≈ 1e-4 at most) and the sigmoid turns a logit
    // error δ into a mask error ≈ m(1 − m)·δ. So the mask `quantlab run` wrote is held to what the
    // logit difference explains (as tests/integration/runtime/mediapipe.test.ts does), and to
    // relative L2 ≤ 1e-5 where the mask is large enough to say anything.
    let worst = 0;
    for (let i = 0; i < ourMask.length; i++) {
      const m = theirMask[i];
      const allowed = m * (1 - m) * (Math.abs(ourLogits[i] - theirLogits[i]) * 1.01 + 1e-6) + 1e-7 * m + 1e-30;
      worst = Math.max(worst, Math.abs(ourMask[i] - m) / allowed);
    }
    expect(worst, 'mask error beyond what the logit error explains').toBeLessThanOrEqual(1);
    if (Math.max(...theirMask) > 0.01) expect(relL2Error(ourMask, theirMask)).toBeLessThanOrEqual(1e-5);
  });

  it('without --legalize the custom op stays, and stderr says the interpreter needs it registered', () => {
    const r = quantlab(['convert', SELFIE, '--out', 'selfie-custom.tflite']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(
      "note: custom op 'Convolution2DTransposeBias' remains: a TFLite interpreter needs it registered to load this file.\n  op 244 'segment': not legalized (--legalize was not given)\n",
    );
    expect(() => oracle.describe(readBytes(path.join(tmp, 'selfie-custom.tflite')))).toThrow(/Convolution2DTransposeBias/);
  });

  it.skipIf(!haveKeras)('--batch 4 of a Keras model: input [4,28,28,1], every shape static, and the interpreter runs it like QuantLab runs the original', async () => {
    const r = json<{ inputs: { name: string; shape: number[] }[]; outputs: { shape: number[] }[]; dynamicTensors: string[]; notes: string[] }>(
      quantlab(['--json', 'convert', KERAS_CNN, '--out', 'k2-b4.tflite', '--batch', '4']),
    );
    expect(r.inputs).toEqual([{ index: 0, name: 'conv2d_input', dtype: 'float32', shape: [4, 28, 28, 1] }]);
    expect(r.outputs[0].shape).toEqual([4, 10]);
    expect(r.dynamicTensors).toEqual([]);
    const bytes = readBytes(path.join(tmp, 'k2-b4.tflite'));
    const written = readTflite(bytes).subgraphs[0];
    for (const t of written.tensors) expect(t.shape.every((d) => d >= 0), t.name).toBe(true);
    expect(oracle.describe(bytes).inputs).toEqual([{ name: 'conv2d_input', shape: [4, 28, 28, 1], dataType: 'float32' }]);
    const x = randomFloats(rng(5), 4 * 28 * 28, 0, 1);
    const theirs = oracle.run(bytes, [x]).outputs[0] as Float32Array;
    const original = (await openModelFile(KERAS_CNN)).subgraphs[0];
    const ours = Interpreter.prepare(original, { inputShapes: [[4, 28, 28, 1]] }).run([x]).outputs[0] as Float32Array;
    expect(relL2Error(ours, theirs)).toBeLessThanOrEqual(1e-5);
    // without --batch: the file keeps the unknown batch, and says so
    const dyn = quantlab(['convert', KERAS_CNN, '--out', 'k2-dyn.tflite']);
    expect(dyn.code).toBe(0);
    expect(dyn.stderr).toMatch(/^note: \d+ tensor\(s\) keep unknown dimensions \(inputs 'conv2d_input' \[\?,28,28,1\]\); delegates need static shapes/);
  });

  it('--batch on a model whose RESHAPEs fix batch 1 says the outputs mix the samples', () => {
    const r = json<{ notes: string[]; outputs: { shape: number[] }[] }>(quantlab(['--json', 'convert', FACE_SHORT, '--out', 'face-b2.tflite', '--batch', '2']));
    expect(r.outputs.map((o) => o.shape)).toEqual([[1, 1792, 16], [1, 1792, 1]]);
    expect(r.notes).toContain(
      "Output 'regressors' has shape [1,1792,16] for batch 2: the model does not carry the batch through (an op such as RESHAPE fixes it), so that output mixes the samples.",
    );
    expect(oracle.describe(readBytes(path.join(tmp, 'face-b2.tflite'))).inputs[0].shape).toEqual([2, 128, 128, 3]);
  });
});

describe('mistakes: one line, exit 1 (2 for bad usage), and no file left behind', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(tmp, 'errors-'));
    fs.writeFileSync(path.join(dir, 'in.npy'), writeNpy({ dtype: 'float32', shape: [1, 64, 64, 3], data: new Float32Array(64 * 64 * 3) }));
    const good = writeNpy({ dtype: 'float32', shape: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3) });
    fs.writeFileSync(path.join(dir, 'good.npy'), good);
    fs.writeFileSync(path.join(dir, 'truncated.npy'), good.subarray(0, good.length - 1000));
  });
  const listing = () => fs.readdirSync(dir).sort();

  const cases: [string, () => string[], number, string][] = [
    ['a missing model file', () => ['run', 'missing.tflite', '--input', 'good.npy', '--output', 'out.npy'], 1, "quantlab: Model file 'missing.tflite' does not exist.\n"],
    ['a missing input file', () => ['run', FACE_SHORT, '--input', 'nope.npy', '--output', 'r.npy,c.npy'], 1, "quantlab: Input file 'nope.npy' does not exist.\n"],
    [
      'a .npy of the wrong shape',
      () => ['run', FACE_SHORT, '--input', 'in.npy', '--output', 'r.npy,c.npy'],
      1,
      "quantlab: input 'input' expects [1,128,128,3] float32 but in.npy holds [1,64,64,3] float32.\n",
    ],
    [
      'a truncated .npy',
      () => ['run', FACE_SHORT, '--input', 'truncated.npy', '--output', 'r.npy,c.npy'],
      1,
      'quantlab: truncated.npy is truncated: its header declares a [1,128,128,3] float32 array (196608 bytes of data) but only 195608 bytes follow the header.\n',
    ],
    [
      'an unknown --input-shape name',
      () => ['run', FACE_SHORT, '--input', 'good.npy', '--output', 'r.npy,c.npy', '--input-shape', 'image=1,128,128,3'],
      1,
      `quantlab: ${FACE_SHORT} has no input called 'image' (its inputs are 'input').\n`,
    ],
    ['too few output files', () => ['run', FACE_SHORT, '--input', 'good.npy', '--output', 'r.npy'], 1, `quantlab: ${FACE_SHORT} has 2 outputs ('regressors', 'classificators'); --output gave 1 file.\n`],
    ['an output folder that does not exist', () => ['run', FACE_SHORT, '--input', 'good.npy', '--output', 'r.npy,no/such/c.npy'], 1, "quantlab: The folder of output file 'no/such/c.npy' does not exist.\n"],
    ['an output that would overwrite the input', () => ['run', FACE_SHORT, '--input', 'good.npy', '--output', 'r.npy,good.npy'], 1, "quantlab: Output file 'good.npy' is also input file 'good.npy'; choose another name.\n"],
    ['convert onto its own input', () => ['convert', path.join(dir, 'in.npy'), '--out', 'in.npy'], 1, "quantlab: --out 'in.npy' is the model being converted; write to another file.\n"],
    ['convert of a file that is no model', () => ['convert', 'good.npy', '--out', 'x.tflite'], 1, ''],
    ['convert with an unknown --input-shape name', () => ['convert', FACE_SHORT, '--out', 'x.tflite', '--input-shape', 'image=1,128,128,3'], 1, `quantlab: ${FACE_SHORT} has no input called 'image' (its inputs are 'input').\n`],
    ['a malformed --input-shape (bad usage)', () => ['run', FACE_SHORT, '--input', 'good.npy', '--output', 'r.npy,c.npy', '--input-shape', 'input=1,a'], 2, ''],
    ['--batch 0 (bad usage)', () => ['convert', FACE_SHORT, '--out', 'x.tflite', '--batch', '0'], 2, ''],
    ['run without --output (bad usage)', () => ['run', FACE_SHORT, '--input', 'good.npy'], 2, ''],
  ];
  for (const [what, args, code, message] of cases) {
    it(what, () => {
      const before = listing();
      const r = quantlab(args(), dir);
      expect(r.code, r.stderr).toBe(code);
      if (message) expect(r.stderr).toBe(message);
      else expect(r.stderr.split('\n')[0]).toMatch(/^quantlab: \S/);
      if (code === 1) expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
      expect(listing()).toEqual(before);
    });
  }

  it('--json turns the sentence into {"error": …} on stdout', () => {
    const r = quantlab(['--json', 'run', FACE_SHORT, '--input', 'in.npy', '--output', 'r.npy,c.npy'], dir);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'bad-input', message: "input 'input' expects [1,128,128,3] float32 but in.npy holds [1,64,64,3] float32." } });
    expect(fs.existsSync(path.join(dir, 'r.npy'))).toBe(false);
  });

  it('the workspace was never created by any of these verbs', () => {
    expect(fs.existsSync(WORKSPACE)).toBe(false);
  });
});
