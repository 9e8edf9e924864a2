/** Small hand-built graphs for the pre-flight tests. */
import type { FusedActivation, Graph, Op, Tensor } from '../../../../src/core/ir/types';

export class GraphBuilder {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];
  inputs: number[] = [];
  outputs: number[] = [];

  tensor(name: string, shape: number[], data?: Float32Array | Int32Array, dtype: Tensor['dtype'] = data instanceof Int32Array ? 'int32' : 'float32'): number {
    this.tensors.push({ name, dtype, shape, ...(data ? { data } : {}) });
    return this.tensors.length - 1;
  }

  input(name: string, shape: number[]): number {
    const t = this.tensor(name, shape);
    this.inputs.push(t);
    return t;
  }

  weights(name: string, shape: number[], seed = 1): number {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    let s = seed;
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      d[i] = (s / 2147483648 - 0.5) * 0.5;
    }
    return this.tensor(name, shape, d);
  }

  op(op: Op): number {
    this.ops.push(op);
    return this.ops.length - 1;
  }

  /** RELU of `x` into a new tensor of the same shape. */
  relu(name: string, x: number): number {
    const y = this.tensor(name, [...this.tensors[x].shape]);
    this.op({ type: 'RELU', name, inputs: [x], outputs: [y], options: {} });
    return y;
  }

  /** An op no delegate knows (a custom op with one input and output). */
  custom(name: string, x: number, code = 'MysteryOp'): number {
    const y = this.tensor(name, [...this.tensors[x].shape]);
    this.op({ type: 'CUSTOM', code, name, inputs: [x], outputs: [y] });
    return y;
  }

  add(name: string, a: number, b: number, act: FusedActivation = 'NONE'): number {
    const y = this.tensor(name, [...this.tensors[a].shape]);
    this.op({ type: 'ADD', name, inputs: [a, b], outputs: [y], options: { fusedActivationFunction: act, potScaleInt16: false } });
    return y;
  }

  build(name = 'g'): Graph {
    return { name, tensors: this.tensors, ops: this.ops, inputs: this.inputs, outputs: this.outputs };
  }
}

/** The seed's example with a dynamic batch: [-1,28,28,1] → CONV_2D(12, 3×3, relu) → MAX_POOL 2×2 → RESHAPE → FULLY_CONNECTED(10). */
export function mnistDynamicBatch(): Graph {
  const b = new GraphBuilder();
  const x = b.input('input', [-1, 28, 28, 1]);
  const w = b.weights('conv/w', [12, 3, 3, 1]);
  const bias = b.weights('conv/b', [12], 2);
  const c = b.tensor('conv', [-1, 26, 26, 12]);
  b.op({ type: 'CONV_2D', name: 'conv', inputs: [x, w, bias], outputs: [c], options: { padding: 'VALID', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'RELU' } });
  const p = b.tensor('pool', [-1, 13, 13, 12]);
  b.op({ type: 'MAX_POOL_2D', name: 'pool', inputs: [c], outputs: [p], options: { padding: 'VALID', strideW: 2, strideH: 2, filterWidth: 2, filterHeight: 2, fusedActivationFunction: 'NONE' } });
  const shape = b.tensor('flatten/shape', [2], Int32Array.from([-1, 2028]));
  const r = b.tensor('flatten', [-1, 2028]);
  b.op({ type: 'RESHAPE', name: 'flatten', inputs: [p, shape], outputs: [r], options: { newShape: [-1, 2028] } });
  const fw = b.weights('dense/w', [10, 2028], 3);
  const fb = b.weights('dense/b', [10], 4);
  const y = b.tensor('logits', [-1, 10]);
  b.op({ type: 'FULLY_CONNECTED', name: 'dense', inputs: [r, fw, fb], outputs: [y], options: { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false } });
  b.outputs = [y];
  return b.build('mnist');
}
