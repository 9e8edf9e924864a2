/**
 * PTQ covers every op of the integer runtime: one float graph chaining CONV_2D,
 * DEPTHWISE_CONV_2D, ADD, MUL, SUB, LEAKY_RELU, PRELU, HARD_SWISH, PAD, AVERAGE_POOL_2D,
 * MAX_POOL_2D, RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR, SPACE_TO_DEPTH, DEPTH_TO_SPACE,
 * TRANSPOSE_CONV, CONCATENATION, RELU, RELU6, TANH, LOGISTIC, MEAN, SQUEEZE, RESHAPE,
 * FULLY_CONNECTED and SOFTMAX is quantized to int8 with nothing left float; the .tflite runs in
 * the real TFLite interpreter, equal to QuantLab bit for bit, and the shared and fixed output
 * parameters are those of TFLite's scheme.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import type { BuiltinOp, Graph, Model, Tensor } from '../../../src/core/ir/types';
import { defaultPtqOptions, quantizeModel } from '../../../src/core/quant/ptq';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import type { TfliteOracle } from '../../helpers/tflite-oracle';
import { loadOracle } from '../../helpers/tflite-oracle';

let seed = 3;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;

class Builder {
  tensors: Tensor[] = [];
  ops: BuiltinOp[] = [];
  t(name: string, shape: number[], data?: Float32Array | Int32Array): number {
    this.tensors.push({ name, dtype: data instanceof Int32Array ? 'int32' : 'float32', shape, ...(data ? { data } : {}) });
    return this.tensors.length - 1;
  }
  w(name: string, shape: number[], scale = 0.5): number {
    return this.t(name, shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd() * scale));
  }
  op(op: Omit<BuiltinOp, 'outputs'> & { name: string }, shape: number[]): number {
    const out = this.t(op.name, shape);
    this.ops.push({ ...op, outputs: [out] } as BuiltinOp);
    return out;
  }
}

function everyOpModel(): Model {
  const b = new Builder();
  const conv = { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1 } as const;
  const x = b.t('x', [1, 8, 8, 4]);
  const t1 = b.op({ name: 'conv', type: 'CONV_2D', inputs: [x, b.w('conv/w', [8, 3, 3, 4]), b.w('conv/b', [8], 0.1)], options: { ...conv, fusedActivationFunction: 'RELU' } }, [1, 8, 8, 8]);
  const t2 = b.op({ name: 'dw', type: 'DEPTHWISE_CONV_2D', inputs: [t1, b.w('dw/w', [1, 3, 3, 8]), b.w('dw/b', [8], 0.1)], options: { ...conv, depthMultiplier: 1, fusedActivationFunction: 'RELU6' } }, [1, 8, 8, 8]);
  const t3 = b.op({ name: 'add', type: 'ADD', inputs: [t1, t2], options: { fusedActivationFunction: 'NONE', potScaleInt16: false } }, [1, 8, 8, 8]);
  const t4 = b.op({ name: 'mul', type: 'MUL', inputs: [t3, b.w('mul/c', [8], 1.5)], options: { fusedActivationFunction: 'NONE' } }, [1, 8, 8, 8]);
  const t5 = b.op({ name: 'sub', type: 'SUB', inputs: [t4, b.w('sub/c', [8])], options: { fusedActivationFunction: 'NONE', potScaleInt16: false } }, [1, 8, 8, 8]);
  const t6 = b.op({ name: 'leaky', type: 'LEAKY_RELU', inputs: [t5], options: { alpha: 0.2 } }, [1, 8, 8, 8]);
  const t7 = b.op({ name: 'prelu', type: 'PRELU', inputs: [t6, b.w('prelu/alpha', [1, 1, 8], 0.3)], options: {} }, [1, 8, 8, 8]);
  const t8 = b.op({ name: 'hswish', type: 'HARD_SWISH', inputs: [t7], options: {} }, [1, 8, 8, 8]);
  const t9 = b.op({ name: 'pad', type: 'PAD', inputs: [t8, b.t('pad/p', [4, 2], Int32Array.from([0, 0, 1, 1, 1, 1, 0, 0]))], options: {} }, [1, 10, 10, 8]);
  const pool = { padding: 'VALID', fusedActivationFunction: 'NONE' } as const;
  const t10 = b.op({ name: 'avgpool', type: 'AVERAGE_POOL_2D', inputs: [t9], options: { ...pool, strideW: 2, strideH: 2, filterWidth: 2, filterHeight: 2 } }, [1, 5, 5, 8]);
  const t11 = b.op({ name: 'maxpool', type: 'MAX_POOL_2D', inputs: [t10], options: { ...pool, strideW: 1, strideH: 1, filterWidth: 2, filterHeight: 2 } }, [1, 4, 4, 8]);
  const t12 = b.op({ name: 'bilinear', type: 'RESIZE_BILINEAR', inputs: [t11, b.t('bilinear/size', [2], Int32Array.from([8, 8]))], options: { alignCorners: false, halfPixelCenters: true } }, [1, 8, 8, 8]);
  const t13 = b.op({ name: 'nearest', type: 'RESIZE_NEAREST_NEIGHBOR', inputs: [t12, b.t('nearest/size', [2], Int32Array.from([4, 4]))], options: { alignCorners: false, halfPixelCenters: false } }, [1, 4, 4, 8]);
  const t14 = b.op({ name: 's2d', type: 'SPACE_TO_DEPTH', inputs: [t13], options: { blockSize: 2 } }, [1, 2, 2, 32]);
  const t15 = b.op({ name: 'd2s', type: 'DEPTH_TO_SPACE', inputs: [t14], options: { blockSize: 2 } }, [1, 4, 4, 8]);
  const t16 = b.op(
    { name: 'tconv', type: 'TRANSPOSE_CONV', inputs: [b.t('tconv/shape', [4], Int32Array.from([1, 8, 8, 4])), b.w('tconv/w', [4, 3, 3, 8]), t15, b.w('tconv/b', [4], 0.1)], options: { padding: 'SAME', strideW: 2, strideH: 2, fusedActivationFunction: 'NONE' } },
    [1, 8, 8, 4],
  );
  const t17 = b.op({ name: 'concat', type: 'CONCATENATION', inputs: [t16, x], options: { axis: 3, fusedActivationFunction: 'NONE' } }, [1, 8, 8, 8]);
  const t18 = b.op({ name: 'relu', type: 'RELU', inputs: [t17], options: {} }, [1, 8, 8, 8]);
  const t19 = b.op({ name: 'relu6', type: 'RELU6', inputs: [t18], options: {} }, [1, 8, 8, 8]);
  const t20 = b.op({ name: 'tanh', type: 'TANH', inputs: [t19], options: {} }, [1, 8, 8, 8]);
  const t21 = b.op({ name: 'logistic', type: 'LOGISTIC', inputs: [t20], options: {} }, [1, 8, 8, 8]);
  const t22 = b.op({ name: 'mean', type: 'MEAN', inputs: [t21, b.t('mean/axes', [2], Int32Array.from([1, 2]))], options: { keepDims: true } }, [1, 1, 1, 8]);
  const t23 = b.op({ name: 'squeeze', type: 'SQUEEZE', inputs: [t22], options: { squeezeDims: [1, 2] } }, [1, 8]);
  const t24 = b.op({ name: 'reshape', type: 'RESHAPE', inputs: [t23, b.t('reshape/shape', [2], Int32Array.from([1, 8]))], options: { newShape: [1, 8] } }, [1, 8]);
  const t25 = b.op({ name: 'fc', type: 'FULLY_CONNECTED', inputs: [t24, b.w('fc/w', [10, 8], 3), b.w('fc/b', [10], 0.1)], options: { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false } }, [1, 10]);
  const t26 = b.op({ name: 'softmax', type: 'SOFTMAX', inputs: [t25], options: { beta: 1 } }, [1, 10]);
  const g: Graph = { name: 'every-op', tensors: b.tensors, ops: b.ops, inputs: [x], outputs: [t26] };
  return { format: 'tflite', subgraphs: [g] };
}

let oracle: TfliteOracle;
beforeAll(async () => {
  oracle = await loadOracle();
}, 60_000);

describe('PTQ of a graph holding every integer op', () => {
  it('quantizes every op, runs in the TFLite interpreter bit for bit, and uses the scheme’s shared and fixed parameters', async () => {
    const model = everyOpModel();
    // The float model itself is valid for TFLite (sanity of the test graph).
    const floatBytes = writeTflite(model);
    const x0 = Float32Array.from({ length: 256 }, () => rnd());
    const fOurs = Interpreter.prepare(model.subgraphs[0]).run([x0]).outputs[0] as Float32Array;
    const fTheirs = oracle.run(floatBytes, [x0]).outputs[0] as Float32Array;
    for (let i = 0; i < 10; i++) expect(Math.abs(fOurs[i] - fTheirs[i])).toBeLessThan(1e-5);

    const data = { count: 64, name: 'seeded', sample: (i: number, out: Float32Array) => { let s = i * 7 + 1; for (let k = 0; k < out.length; k++) { s = (Math.imul(s, 48271) >>> 0) % 2147483647; out[k] = (s / 2147483647) * 4 - 2; } } };
    for (const io of ['int8', 'float'] as const) {
      const { model: q, report } = await quantizeModel(model, data, defaultPtqOptions({ samples: 64, io }));
      expect(report.floatOps).toEqual([]);
      const bytes = writeTflite(q);
      const g = readTflite(bytes, 'every-op-int8.tflite').subgraphs[0];
      const types = new Set(g.ops.map((op) => op.type));
      for (const t of model.subgraphs[0].ops.map((op) => op.type)) {
        // Standalone RELU/RELU6 are fused into the op before them when that op allows it.
        if (t !== 'RELU6') expect(types.has(t), t).toBe(true);
      }
      const byName = (n: string) => g.tensors.find((t) => t.name === n);
      const same = (a: string, b: string) => expect([byName(a)?.quant?.scale[0], byName(a)?.quant?.zeroPoint[0]], `${a} vs ${b}`).toEqual([byName(b)?.quant?.scale[0], byName(b)?.quant?.zeroPoint[0]]);
      for (const [out, inp] of [['avgpool', 'pad'], ['maxpool', 'avgpool'], ['bilinear', 'maxpool'], ['nearest', 'bilinear'], ['s2d', 'nearest'], ['d2s', 's2d'], ['squeeze', 'mean'], ['reshape', 'squeeze'], ['concat', 'tconv']]) same(out, inp);
      expect([byName('logistic')?.quant?.scale[0], byName('logistic')?.quant?.zeroPoint[0]]).toEqual([1 / 256, -128]);
      expect([byName('tanh')?.quant?.scale[0], byName('tanh')?.quant?.zeroPoint[0]]).toEqual([1 / 128, 0]);
      const ours = Interpreter.prepare(g, { rounding: 'xnnpack' });
      const inT = g.tensors[g.inputs[0]];
      let mismatched = 0;
      for (let s = 0; s < 8; s++) {
        const xf = new Float32Array(256);
        data.sample(100 + s, xf);
        let input: Float32Array | Int8Array = xf;
        if (inT.dtype === 'int8') {
          const qp = inT.quant ?? { scale: [1], zeroPoint: [0] };
          input = Int8Array.from(xf, (v) => { const r = v / qp.scale[0]; return Math.max(-128, Math.min(127, (r >= 0 ? Math.floor(r + 0.5) : -Math.floor(-r + 0.5)) + qp.zeroPoint[0])); });
        }
        const a = ours.run([input]).outputs[0];
        const t = oracle.run(bytes, [input]).outputs[0];
        for (let e = 0; e < a.length; e++) if (a[e] !== t[e]) mismatched++;
      }
      expect(mismatched, `io ${io}`).toBe(0);
    }
  }, 120_000);
});
