import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../../../src/core/errors';
import { broadcastShapes, inferOpOutputShapes, inferShapes, reshapeTarget, windowOutputSize } from '../../../../src/core/ir/shape-inference';
import type { BuiltinOp, DType, Graph, Tensor, TensorData } from '../../../../src/core/ir/types';

type Operand = { shape: number[]; dtype?: DType; data?: TensorData } | null;

/** One op over the given operands; returns the inferred output shapes. */
function infer(op: Omit<BuiltinOp, 'inputs' | 'outputs'>, operands: Operand[], outputs = 1): number[][] | undefined {
  const tensors: Tensor[] = [];
  const inputs = operands.map((o, i) => {
    if (!o) return -1;
    tensors.push({ name: `in${i}`, dtype: o.dtype ?? 'float32', shape: o.shape, ...(o.data ? { data: o.data } : {}) });
    return tensors.length - 1;
  });
  const outs = Array.from({ length: outputs }, (_, i) => {
    tensors.push({ name: `out${i}`, dtype: 'float32', shape: [] });
    return tensors.length - 1;
  });
  const graph: Graph = { name: 'g', tensors, ops: [{ ...op, inputs, outputs: outs } as BuiltinOp], inputs: [], outputs: outs };
  return inferOpOutputShapes(graph, 0);
}

const conv = (padding: 'SAME' | 'VALID', stride = 1, dilation = 1) =>
  ({ type: 'CONV_2D', options: { padding, strideW: stride, strideH: stride, dilationWFactor: dilation, dilationHFactor: dilation, fusedActivationFunction: 'NONE' } }) as const;
const pool = (type: 'MAX_POOL_2D' | 'AVERAGE_POOL_2D', padding: 'SAME' | 'VALID', k: number, s: number) =>
  ({ type, options: { padding, strideW: s, strideH: s, filterWidth: k, filterHeight: k, fusedActivationFunction: 'NONE' } }) as const;
const i32 = (...v: number[]) => ({ shape: [v.length], dtype: 'int32' as const, data: new Int32Array(v) });

describe('window arithmetic', () => {
  it('follows TFLite for SAME and VALID', () => {
    expect(windowOutputSize(224, 3, 2, 1, 'SAME')).toBe(112);
    expect(windowOutputSize(225, 3, 2, 1, 'SAME')).toBe(113);
    expect(windowOutputSize(224, 3, 2, 1, 'VALID')).toBe(111);
    expect(windowOutputSize(7, 3, 1, 2, 'VALID')).toBe(3);
    expect(windowOutputSize(-1, 3, 2, 1, 'VALID')).toBe(-1);
    expect(() => windowOutputSize(2, 5, 1, 1, 'VALID')).toThrow();
  });

  it('broadcasts, treating -1 as "whatever the other side says"', () => {
    expect(broadcastShapes([1, 4, 4, 8], [8])).toEqual([1, 4, 4, 8]);
    expect(broadcastShapes([-1, 4], [1, 4])).toEqual([-1, 4]);
    expect(broadcastShapes([-1, 4], [3, 1])).toEqual([3, 4]);
    expect(() => broadcastShapes([2, 3], [4, 3])).toThrow();
  });

  it('reshapes with one -1', () => {
    expect(reshapeTarget([2, 3, 4], [-1, 4])).toEqual([6, 4]);
    expect(reshapeTarget([-1, 3, 4], [-1, 12])).toEqual([-1, 12]);
    expect(() => reshapeTarget([2, 3], [4, 2])).toThrow();
    expect(() => reshapeTarget([2, 3], [-1, -1])).toThrow();
  });
});

describe('inferOpOutputShapes for every op type', () => {
  const cases: [string, Omit<BuiltinOp, 'inputs' | 'outputs'>, Operand[], number[][] | undefined][] = [
    ['CONV_2D same/2', conv('SAME', 2), [{ shape: [1, 9, 9, 3] }, { shape: [8, 3, 3, 3] }, { shape: [8] }], [[1, 5, 5, 8]]],
    ['CONV_2D valid dilated, batch -1', conv('VALID', 1, 2), [{ shape: [-1, 9, 9, 3] }, { shape: [8, 3, 3, 3] }, null], [[-1, 5, 5, 8]]],
    [
      'DEPTHWISE_CONV_2D multiplier 2',
      { type: 'DEPTHWISE_CONV_2D', options: { padding: 'SAME', strideW: 2, strideH: 2, depthMultiplier: 2, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' } },
      [{ shape: [1, 8, 8, 3] }, { shape: [1, 3, 3, 6] }, { shape: [6] }],
      [[1, 4, 4, 6]],
    ],
    [
      'FULLY_CONNECTED flattening',
      { type: 'FULLY_CONNECTED', options: { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false } },
      [{ shape: [2, 3, 4] }, { shape: [10, 12] }],
      [[2, 10]],
    ],
    [
      'FULLY_CONNECTED keepNumDims',
      { type: 'FULLY_CONNECTED', options: { fusedActivationFunction: 'NONE', keepNumDims: true, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false } },
      [{ shape: [-1, 3, 4] }, { shape: [10, 4] }],
      [[-1, 3, 10]],
    ],
    [
      'TRANSPOSE_CONV from its output-shape operand',
      { type: 'TRANSPOSE_CONV', options: { padding: 'SAME', strideW: 2, strideH: 2, fusedActivationFunction: 'NONE' } },
      [i32(1, 16, 16, 4), { shape: [4, 3, 3, 8] }, { shape: [1, 8, 8, 8] }],
      [[1, 16, 16, 4]],
    ],
    [
      'TRANSPOSE_CONV without a constant output shape',
      { type: 'TRANSPOSE_CONV', options: { padding: 'VALID', strideW: 2, strideH: 2, fusedActivationFunction: 'NONE' } },
      [{ shape: [4], dtype: 'int32' }, { shape: [4, 3, 3, 8] }, { shape: [1, 8, 8, 8] }],
      [[1, 17, 17, 4]],
    ],
    ['ADD broadcast', { type: 'ADD', options: { fusedActivationFunction: 'NONE', potScaleInt16: true } }, [{ shape: [1, 4, 4, 8] }, { shape: [1, 1, 1, 8] }], [[1, 4, 4, 8]]],
    ['SUB', { type: 'SUB', options: { fusedActivationFunction: 'NONE', potScaleInt16: true } }, [{ shape: [3] }, { shape: [] }], [[3]]],
    ['MUL', { type: 'MUL', options: { fusedActivationFunction: 'NONE' } }, [{ shape: [2, 1] }, { shape: [1, 5] }], [[2, 5]]],
    ['MAX_POOL_2D valid', pool('MAX_POOL_2D', 'VALID', 2, 2), [{ shape: [1, 7, 7, 4] }], [[1, 3, 3, 4]]],
    ['AVERAGE_POOL_2D same', pool('AVERAGE_POOL_2D', 'SAME', 3, 2), [{ shape: [1, 7, 7, 4] }], [[1, 4, 4, 4]]],
    ['MEAN keepDims', { type: 'MEAN', options: { keepDims: true } }, [{ shape: [1, 7, 7, 4] }, i32(1, 2)], [[1, 1, 1, 4]]],
    ['MEAN dropping negative axes', { type: 'MEAN', options: { keepDims: false } }, [{ shape: [1, 7, 7, 4] }, i32(-3, -2)], [[1, 4]]],
    ['MEAN with computed axes', { type: 'MEAN', options: { keepDims: false } }, [{ shape: [1, 7, 7, 4] }, { shape: [2], dtype: 'int32' }], undefined],
    ['RESHAPE from options', { type: 'RESHAPE', options: { newShape: [1, -1] } }, [{ shape: [1, 2, 3] }], [[1, 6]]],
    ['RESHAPE from a shape operand', { type: 'RESHAPE', options: { newShape: [] } }, [{ shape: [4, 6] }, i32(2, -1, 3)], [[2, 4, 3]]],
    ['RESHAPE int64 shape operand', { type: 'RESHAPE', options: { newShape: [] } }, [{ shape: [4, 6] }, { shape: [2], dtype: 'int64', data: new BigInt64Array([3n, 8n]) }], [[3, 8]]],
    ['RESHAPE with a computed shape', { type: 'RESHAPE', options: { newShape: [] } }, [{ shape: [4, 6] }, { shape: [2], dtype: 'int32' }], undefined],
    ['SQUEEZE listed dims', { type: 'SQUEEZE', options: { squeezeDims: [0, -1] } }, [{ shape: [1, 3, 1] }], [[3]]],
    ['SQUEEZE all ones', { type: 'SQUEEZE', options: { squeezeDims: [] } }, [{ shape: [1, 3, 1, 2] }], [[3, 2]]],
    ['CONCATENATION last axis', { type: 'CONCATENATION', options: { axis: -1, fusedActivationFunction: 'NONE' } }, [{ shape: [1, 2, 3] }, { shape: [1, 2, 5] }], [[1, 2, 8]]],
    ['CONCATENATION unknown batch', { type: 'CONCATENATION', options: { axis: 1, fusedActivationFunction: 'NONE' } }, [{ shape: [-1, 2] }, { shape: [4, 3] }], [[4, 5]]],
    ['PAD', { type: 'PAD', options: {} }, [{ shape: [1, 4, 4, 3] }, { shape: [4, 2], dtype: 'int32', data: new Int32Array([0, 0, 1, 2, 1, 2, 0, 0]) }], [[1, 7, 7, 3]]],
    ['RELU', { type: 'RELU', options: {} }, [{ shape: [-1, 3] }], [[-1, 3]]],
    ['RELU6', { type: 'RELU6', options: {} }, [{ shape: [2] }], [[2]]],
    ['LEAKY_RELU', { type: 'LEAKY_RELU', options: { alpha: 0.2 } }, [{ shape: [2] }], [[2]]],
    ['PRELU', { type: 'PRELU', options: {} }, [{ shape: [1, 2, 2, 3] }, { shape: [1, 1, 3] }], [[1, 2, 2, 3]]],
    ['HARD_SWISH', { type: 'HARD_SWISH', options: {} }, [{ shape: [2] }], [[2]]],
    ['LOGISTIC', { type: 'LOGISTIC', options: {} }, [{ shape: [2] }], [[2]]],
    ['TANH', { type: 'TANH', options: {} }, [{ shape: [2] }], [[2]]],
    ['SOFTMAX', { type: 'SOFTMAX', options: { beta: 1 } }, [{ shape: [1, 10] }], [[1, 10]]],
    ['RESIZE_BILINEAR', { type: 'RESIZE_BILINEAR', options: { alignCorners: false, halfPixelCenters: true } }, [{ shape: [1, 4, 4, 3] }, i32(8, 6)], [[1, 8, 6, 3]]],
    ['RESIZE_NEAREST_NEIGHBOR computed size', { type: 'RESIZE_NEAREST_NEIGHBOR', options: { alignCorners: false, halfPixelCenters: false } }, [{ shape: [1, 4, 4, 3] }, { shape: [2], dtype: 'int32' }], [[1, -1, -1, 3]]],
    ['DEPTH_TO_SPACE', { type: 'DEPTH_TO_SPACE', options: { blockSize: 2 } }, [{ shape: [1, 3, 3, 8] }], [[1, 6, 6, 2]]],
    ['SPACE_TO_DEPTH', { type: 'SPACE_TO_DEPTH', options: { blockSize: 2 } }, [{ shape: [1, 6, 6, 2] }], [[1, 3, 3, 8]]],
    ['DEQUANTIZE', { type: 'DEQUANTIZE', options: {} }, [{ shape: [3, 3], dtype: 'int8' }], [[3, 3]]],
    ['QUANTIZE', { type: 'QUANTIZE', options: {} }, [{ shape: [3, 3] }], [[3, 3]]],
  ];
  it.each(cases)('%s', (_, op, operands, expected) => {
    expect(infer(op, operands)).toEqual(expected);
  });

  it('refuses impossible shapes with a sentence naming the op', () => {
    const call = () => infer({ type: 'ADD', options: { fusedActivationFunction: 'NONE', potScaleInt16: true } }, [{ shape: [2, 3] }, { shape: [4, 3] }]);
    expect(call).toThrow(UnsupportedError);
    expect(call).toThrow(/^Graph 'g': op 0 \(ADD 'out0'\) has impossible shapes: shapes \[2,3\] and \[4,3\] cannot be broadcast together\.$/);
    expect(() => infer({ type: 'DEPTH_TO_SPACE', options: { blockSize: 2 } }, [{ shape: [1, 3, 3, 6] }])).toThrow(/depth 6 is not a multiple of block size² \(4\)/);
    expect(() => infer(conv('SAME'), [{ shape: [1, 9, 9] }, { shape: [8, 3, 3, 3] }])).toThrow(/expected 4 dimensions/);
  });

  it('infers a whole graph in dependency order, even when ops are listed out of order', () => {
    const graph: Graph = {
      name: 'g',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [-1, 8, 8, 3] },
        { name: 'a', dtype: 'float32', shape: [] },
        { name: 'b', dtype: 'float32', shape: [] },
      ],
      ops: [
        { type: 'RELU', options: {}, inputs: [1], outputs: [2] },
        { type: 'MAX_POOL_2D', options: pool('MAX_POOL_2D', 'VALID', 2, 2).options, inputs: [0], outputs: [1] },
      ],
      inputs: [0],
      outputs: [2],
    };
    expect(inferShapes(graph)).toEqual([[-1, 8, 8, 3], [-1, 4, 4, 3], [-1, 4, 4, 3]]);
    expect(inferShapes(graph, new Map([[0, [2, 8, 8, 3]]]))).toEqual([[2, 8, 8, 3], [2, 4, 4, 3], [2, 4, 4, 3]]);
  });
});
