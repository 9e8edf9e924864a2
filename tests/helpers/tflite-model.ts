/**
 * Builds one-op IR models for kernel tests:
 *
 *   const model = singleOpModel({
 *     type: 'CONV_2D',
 *     options: { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' },
 *     inputs: [
 *       { dtype: 'float32', shape: [1, 8, 8, 3] },                        // graph input
 *       { dtype: 'float32', shape: [4, 3, 3, 3], data: weights },         // constant
 *       { dtype: 'float32', shape: [4], data: bias },
 *     ],
 *     outputs: [{ dtype: 'float32', shape: [1, 8, 8, 4] }],              // optional: inferred when omitted
 *   });
 *   const { outputs } = oracle.run(writeTflite(model), [x]);
 *
 * Inputs without `data` become graph inputs (in order); inputs with `data` are constants;
 * `null` is an omitted optional input (-1). Tensor names default to `input0`, `const1`, `output0`.
 */

import { inferShapes } from '../../src/core/ir/shape-inference';
import type { BuiltinOp, BuiltinOpType, DType, Graph, Model, OpOptionsMap, OpaqueOp, QuantParams, Tensor, TensorData } from '../../src/core/ir/types';

export interface TensorSpec {
  name?: string;
  dtype: DType;
  shape: number[];
  data?: TensorData;
  quant?: QuantParams;
}

export interface OutputSpec {
  name?: string;
  dtype: DType;
  /** Omit to let shape inference fill it in. */
  shape?: number[];
  quant?: QuantParams;
}

export type SingleOpSpec<K extends BuiltinOpType = BuiltinOpType> = {
  [T in K]: {
    type: T;
    options: OpOptionsMap[T];
    inputs: (TensorSpec | null)[];
    /** Defaults to one output with the data input's dtype and an inferred shape. */
    outputs?: OutputSpec[];
    version?: number;
  };
}[K];

export interface CustomOpSpec {
  type: 'CUSTOM';
  code: string;
  customOptions?: Uint8Array;
  inputs: (TensorSpec | null)[];
  outputs: (OutputSpec & { shape: number[] })[];
  version?: number;
}

/** A model holding one op; see the file comment. */
export function singleOpModel(spec: SingleOpSpec | CustomOpSpec): Model {
  const tensors: Tensor[] = [];
  const graphInputs: number[] = [];
  const opInputs = spec.inputs.map((s, i) => {
    if (s === null) return -1;
    const t: Tensor = { name: s.name ?? (s.data ? `const${i}` : `input${i}`), dtype: s.dtype, shape: [...s.shape] };
    if (s.data) t.data = s.data;
    if (s.quant) t.quant = s.quant;
    tensors.push(t);
    const index = tensors.length - 1;
    if (!s.data) graphInputs.push(index);
    return index;
  });
  // The data operand sets the default output dtype (TRANSPOSE_CONV's first operand is a shape).
  const dataOperand = spec.type === 'TRANSPOSE_CONV' ? spec.inputs[2] : spec.inputs.find((s) => s !== null);
  const firstDtype = dataOperand?.dtype ?? 'float32';
  const outputSpecs: OutputSpec[] = spec.outputs ?? [{ dtype: firstDtype }];
  const opOutputs = outputSpecs.map((s, i) => {
    const t: Tensor = { name: s.name ?? `output${i}`, dtype: s.dtype, shape: s.shape ? [...s.shape] : [] };
    if (s.quant) t.quant = s.quant;
    tensors.push(t);
    return tensors.length - 1;
  });

  const op =
    spec.type === 'CUSTOM'
      ? ({ type: 'CUSTOM', code: spec.code, inputs: opInputs, outputs: opOutputs, customOptions: spec.customOptions } as OpaqueOp)
      : ({ type: spec.type, options: spec.options, inputs: opInputs, outputs: opOutputs } as BuiltinOp);
  if (spec.version !== undefined) op.version = spec.version;

  const graph: Graph = { name: 'main', tensors, ops: [op], inputs: graphInputs, outputs: opOutputs };
  if (outputSpecs.some((s) => !s.shape)) {
    const inferred = inferShapes(graph);
    opOutputs.forEach((t, i) => {
      if (!outputSpecs[i].shape) tensors[t].shape = inferred[t];
    });
  }
  return { format: 'tflite', subgraphs: [graph], description: 'QuantLab single-op test model' };
}
