import { describe, expect, it } from 'vitest';
import { ModelFormatError, UnsupportedError, UserError } from '../../../../src/core/errors';
import type { Graph } from '../../../../src/core/ir/types';
import { Interpreter } from '../../../../src/core/runtime/interpreter';
import { ALL_KERNELS } from '../../../../src/core/runtime/kernels/register-all';
import { maxRelError, oneOpGraph, randomFloats, refConv2d, rng, toFloat16Bits } from './reference';

function twoOps(): Graph {
  return {
    name: 'two',
    tensors: [
      { name: 'x', dtype: 'float32', shape: [2, 3] },
      { name: 'y', dtype: 'float32', shape: [2, 3] },
      { name: 'foo', dtype: 'float32', shape: [2, 3] },
    ],
    ops: [
      { type: 'RELU', options: {}, inputs: [0], outputs: [1] },
      { type: 'TANH', options: {}, inputs: [1], outputs: [2] },
    ],
    inputs: [0],
    outputs: [2],
  };
}

describe('interpreter: validation before running', () => {
  it('names the first unsupported custom op', () => {
    const g = twoOps();
    g.tensors.push({ name: 'z', dtype: 'float32', shape: [2, 3] });
    g.ops.push({ type: 'CUSTOM', code: 'Bar', name: 'foo', inputs: [2], outputs: [3] });
    g.outputs = [3];
    expect(() => Interpreter.prepare(g)).toThrowError(UnsupportedError);
    expect(() => Interpreter.prepare(g)).toThrowError("Op 2 'foo' is CUSTOM 'Bar', which the QuantLab runtime does not implement.");
  });

  it('names an unknown builtin and falls back to the output tensor name', () => {
    const g = twoOps();
    g.ops[1] = { type: 'UNKNOWN_BUILTIN', code: 'GATHER', builtinCode: 36, inputs: [1], outputs: [2] };
    expect(() => Interpreter.prepare(g)).toThrowError("Op 1 'foo' is GATHER, which the QuantLab runtime does not implement.");
  });

  it('says when an op exists but not for these dtypes', () => {
    const g = oneOpGraph('RELU', {}, [{ shape: [4], dtype: 'int32' }], [{ shape: [4], dtype: 'int32' }]);
    expect(() => Interpreter.prepare(g)).toThrowError(/Op 0 'out0' is RELU with input types \(int32\).*does not implement/);
  });

  it('rejects an unsupported fused activation with a sentence', () => {
    const g = oneOpGraph('ADD', { fusedActivationFunction: 'SIGN_BIT', potScaleInt16: false }, [{ shape: [2] }, { shape: [2] }], [{ shape: [2] }]);
    expect(() => Interpreter.prepare(g)).toThrowError(/fused activation 'SIGN_BIT'/);
  });

  it('checks computed shapes against declared ones', () => {
    const g = oneOpGraph('ADD', { fusedActivationFunction: 'NONE', potScaleInt16: false }, [{ shape: [2, 3] }, { shape: [3] }], [{ shape: [2, 4] }]);
    expect(() => Interpreter.prepare(g)).toThrowError(ModelFormatError);
    expect(() => Interpreter.prepare(g)).toThrowError(/computes shape \[2, 3\].*declares \[2, 4\]/);
  });

  it('asks for static shapes when an input dimension is unknown, and accepts them', () => {
    const g = oneOpGraph('RELU', {}, [{ shape: [-1, 3] }], [{ shape: [-1, 3] }]);
    expect(() => Interpreter.prepare(g)).toThrowError(/unknown dimensions; pass its static shape in inputShapes/);
    const it = Interpreter.prepare(g, { inputShapes: [[4, 3]] });
    expect(it.outputs[0].shape).toEqual([4, 3]);
    expect(it.run([new Float32Array(12).fill(-1)]).outputs[0]).toEqual(new Float32Array(12));
  });

  it('reports a tensor nobody writes', () => {
    const g = twoOps();
    g.inputs = [];
    expect(() => Interpreter.prepare(g)).toThrowError(/neither a graph input, a constant, nor written by any op/);
  });

  it('the register-all list names each op once per flavour', () => {
    const keys = ALL_KERNELS.map((k) => `${k.opType}/${k.customCode ?? ''}/${k.flavour}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('interpreter: running', () => {
  it('orders ops topologically when the file order is not', () => {
    const g = twoOps();
    g.ops.reverse();
    const it = Interpreter.prepare(g);
    expect(it.steps.map((s) => s.type)).toEqual(['RELU', 'TANH']);
    const { outputs } = it.run([Float32Array.from([-1, 0, 1, 2, -3, 0.5])]);
    expect(Array.from(outputs[0] as Float32Array)).toEqual([0, 0, 1, 2, 0, 0.5].map((v) => Math.fround(Math.tanh(v))));
  });

  it('validates inputs with a sentence', () => {
    const it = Interpreter.prepare(twoOps());
    expect(() => it.run([])).toThrowError(UserError);
    expect(() => it.run([new Float32Array(5)])).toThrowError(/Input 0 'x' takes float32 data of 6 values \(shape \[2, 3\]\); got a Float32Array of 5/);
    expect(() => it.run([new Int32Array(6)])).toThrowError(/got a Int32Array/);
  });

  it('returns copies, and per-op timings when profiling', () => {
    const it = Interpreter.prepare(twoOps(), { profile: true });
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const a = it.run([x]);
    (a.outputs[0] as Float32Array).fill(0);
    const b = it.run([x]);
    expect((b.outputs[0] as Float32Array)[0]).toBeCloseTo(Math.tanh(1), 6);
    expect(b.timings?.map((t) => [t.opIndex, t.type])).toEqual([[0, 'RELU'], [1, 'TANH']]);
    expect(b.timings?.every((t) => t.ms >= 0)).toBe(true);
    expect(Interpreter.prepare(twoOps()).run([x]).timings).toBeUndefined();
  });

  it('folds DEQUANTIZE of float16 weights into a constant feeding CONV_2D', () => {
    const r = rng(3);
    const ws = [4, 3, 3, 2];
    const wf = randomFloats(r, 72);
    const bits = Uint16Array.from(wf, toFloat16Bits);
    const g: Graph = {
      name: 'fp16 conv',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [1, 6, 6, 2] },
        { name: 'w16', dtype: 'float16', shape: ws, data: bits },
        { name: 'w', dtype: 'float32', shape: ws },
        { name: 'y', dtype: 'float32', shape: [1, 3, 3, 4] },
      ],
      ops: [
        { type: 'DEQUANTIZE', options: {}, inputs: [1], outputs: [2] },
        { type: 'CONV_2D', options: { padding: 'SAME', strideH: 2, strideW: 2, dilationHFactor: 1, dilationWFactor: 1, fusedActivationFunction: 'NONE' }, inputs: [0, 2, -1], outputs: [3] },
      ],
      inputs: [0],
      outputs: [3],
    };
    const it = Interpreter.prepare(g);
    expect(it.foldedOps).toEqual([0]);
    expect(it.steps.map((s) => s.type)).toEqual(['CONV_2D']);
    const x = randomFloats(r, 72);
    const w = new Float32Array(72);
    for (let i = 0; i < 72; i++) {
      const h = bits[i];
      const e = (h >> 10) & 31;
      const m = h & 1023;
      w[i] = (h & 0x8000 ? -1 : 1) * (e === 0 ? 2 ** -14 * (m / 1024) : 2 ** (e - 15) * (1 + m / 1024));
    }
    const ref = refConv2d(x, [1, 6, 6, 2], w, ws, null, { padding: 'SAME', strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, act: 'NONE' });
    expect(maxRelError(Array.from(it.run([x]).outputs[0] as Float32Array), ref.data)).toBeLessThanOrEqual(1e-6);
    // without folding the DEQUANTIZE runs every time and gets arena memory
    const slow = Interpreter.prepare(g, { foldConstants: false });
    expect(slow.steps.map((s) => s.type)).toEqual(['DEQUANTIZE', 'CONV_2D']);
    expect(Array.from(slow.run([x]).outputs[0] as Float32Array)).toEqual(Array.from(it.run([x]).outputs[0] as Float32Array));
    expect(slow.peakActivationBytes).toBeGreaterThan(it.peakActivationBytes);
  });

  it('keeps intermediates readable with preserveIntermediates', () => {
    const g = twoOps();
    const plain = Interpreter.prepare(g);
    plain.run([new Float32Array(6)]);
    expect(() => plain.readTensor(1)).toThrowError(/preserveIntermediates/);
    const keep = Interpreter.prepare(g, { preserveIntermediates: true });
    keep.run([Float32Array.from([-1, 2, -3, 4, -5, 6])]);
    expect(Array.from(keep.readTensor(1) as Float32Array)).toEqual([0, 2, 0, 4, 0, 6]);
  });
});
