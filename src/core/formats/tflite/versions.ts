/**
 * The operator version TFLite needs for an op, given its tensor types and options.
 *
 * TFLite registers each builtin kernel for a range of versions and refuses a file whose op
 * version it does not know; delegates (NNAPI, GPU) also decide support by version. The rules
 * below follow TFLite's op versioning (tensorflow/lite/tools/versioning/op_version.cc) for the
 * ops QuantLab writes; the writer stores max(version already on the op, required version), as
 * TFLite's own converter does.
 *
 * One deliberate difference: TFLite's rule for int16 CONV_2D / DEPTHWISE_CONV_2D compares the
 * filter type with int16, so int16-activation/int8-weight ("16x8") convolutions fall through to
 * version 1. QuantLab writes the version that introduced int16 activations (4 and 5) so that an
 * old runtime refuses the op by version instead of failing at prepare time.
 */

import type { DType, Graph, Op } from '../../ir/types';

function dtypeOf(graph: Graph, index: number | undefined): DType | undefined {
  if (index === undefined || index < 0 || index >= graph.tensors.length) return undefined;
  return graph.tensors[index].dtype;
}

function perAxis(graph: Graph, index: number | undefined): boolean {
  if (index === undefined || index < 0 || index >= graph.tensors.length) return false;
  const q = graph.tensors[index].quant;
  return !!q && (q.scale.length > 1 || q.axis !== undefined);
}

function firstScale(graph: Graph, index: number | undefined): number {
  if (index === undefined || index < 0 || index >= graph.tensors.length) return 0;
  return graph.tensors[index].quant?.scale[0] ?? 0;
}

function rank(graph: Graph, index: number | undefined): number {
  if (index === undefined || index < 0 || index >= graph.tensors.length) return 0;
  return graph.tensors[index].shape.length;
}

/** Inputs differ in shape, so the kernel must broadcast. */
function broadcasts(graph: Graph, op: Op): boolean {
  const [a, b] = op.inputs;
  if (a === undefined || b === undefined || a < 0 || b < 0) return false;
  const sa = graph.tensors[a]?.shape ?? [];
  const sb = graph.tensors[b]?.shape ?? [];
  return sa.length !== sb.length || sa.some((d, i) => d !== sb[i]);
}

/** The lowest operator version TFLite accepts for `op` as it stands in `graph`. */
export function requiredOpVersion(graph: Graph, op: Op): number {
  const in0 = dtypeOf(graph, op.inputs[0]);
  const in1 = dtypeOf(graph, op.inputs[1]);
  const out0 = dtypeOf(graph, op.outputs[0]);
  switch (op.type) {
    case 'CONV_2D': {
      const inCh = graph.tensors[op.inputs[0]]?.shape.at(-1) ?? -1;
      const filterInCh = graph.tensors[op.inputs[1]]?.shape.at(-1) ?? -1;
      if (inCh > 0 && filterInCh > 0 && inCh !== filterInCh) return 6; // grouped convolution
      if (in0 === 'int16' && out0 === 'int16') return 4;
      if (in0 === 'int8' && in1 === 'int8' && out0 === 'int8') return 3;
      if (in0 === 'float32' && in1 === 'int8' && out0 === 'float32') return perAxis(graph, op.inputs[1]) ? 5 : 2; // hybrid
      return 1;
    }
    case 'DEPTHWISE_CONV_2D': {
      if (in0 === 'int16' && out0 === 'int16') return 5;
      if (in0 === 'float32' && in1 === 'int8' && out0 === 'float32') return perAxis(graph, op.inputs[1]) ? 6 : 4;
      if (in0 === 'int8' && in1 === 'int8' && out0 === 'int8') return 3;
      if (op.options.dilationWFactor !== 1 || op.options.dilationHFactor !== 1) return 2;
      return 1;
    }
    case 'FULLY_CONNECTED': {
      if (in0 === 'float32' && in1 === 'int8' && out0 === 'float32' && perAxis(graph, op.inputs[1])) return 12;
      if (in0 === 'int16' && in1 === 'int16' && out0 === 'int16') return 7;
      if (op.inputs.length === 2) return 6; // no bias operand at all
      if (op.options.keepNumDims) return 5;
      if (in0 === 'int8' && in1 === 'int8' && out0 === 'int8') return 4;
      if (in0 === 'float32' && in1 === 'int8' && out0 === 'float32') return op.options.asymmetricQuantizeInputs ? 9 : 3;
      if (op.options.weightsFormat === 'SHUFFLED4x16INT8') return 2;
      return 1;
    }
    case 'TRANSPOSE_CONV': {
      // Inputs: output shape, filter, input, optional bias.
      if (op.options.fusedActivationFunction !== 'NONE') return 4;
      if (op.inputs.length === 4 && op.inputs[3] >= 0) return 3;
      if (in1 === 'int8') return 2;
      return 1;
    }
    case 'ADD': {
      if (in0 === 'int16' && !graph.tensors[op.inputs[0]]?.quant) return 5;
      if (in0 === 'int64') return 4;
      if (in0 === 'int16' && out0 === 'int16' && !op.options.potScaleInt16) return 3;
      if (in0 === 'int8') return 2;
      return 1;
    }
    case 'SUB': {
      if (in0 === 'int16' && out0 === 'int16' && !op.options.potScaleInt16) return 5;
      if (in0 === 'int64') return 4;
      if (broadcasts(graph, op) && Math.max(rank(graph, op.inputs[0]), rank(graph, op.inputs[1])) > 4) return 3;
      if (in0 === 'int8') return 2;
      return 1;
    }
    case 'MUL': {
      if (in0 === 'int16' && !graph.tensors[op.inputs[0]]?.quant) return 7;
      if (in0 === 'int64') return 5;
      if (in0 === 'int16') return 4;
      const s1 = firstScale(graph, op.inputs[0]);
      const s2 = firstScale(graph, op.inputs[1]);
      const so = firstScale(graph, op.outputs[0]);
      if (s1 !== 0 && s2 !== 0 && so !== 0 && (s1 * s2) / so >= 1) return 3; // rescale ≥ 1
      if (in0 === 'int8') return 2;
      return 1;
    }
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D':
      if (in0 === 'int16' && out0 === 'int16') return 3;
      return in0 === 'int8' ? 2 : 1;
    case 'SOFTMAX':
    case 'MEAN':
    case 'RELU6':
      if (in0 === 'int16') return 3;
      return in0 === 'int8' ? 2 : 1;
    case 'RELU':
      if (in0 === 'int16') return 3;
      return in0 === 'int8' || in0 === 'uint8' ? 2 : 1;
    case 'LOGISTIC':
    case 'TANH':
      if (in0 === 'int16' && out0 === 'int16') return 3;
      return in0 === 'int8' ? 2 : 1;
    case 'PAD':
      if (rank(graph, op.inputs[0]) > 4) return 4;
      if (in0 === 'int16') return 3;
      return in0 === 'int8' ? 2 : 1;
    case 'CONCATENATION':
      if (in0 === 'int16') return 3;
      return in0 === 'int8' ? 2 : 1;
    case 'LEAKY_RELU':
      return in0 === 'int16' ? 2 : 1;
    case 'RESIZE_BILINEAR':
      if (in0 === 'int16') return 4;
      if (op.options.halfPixelCenters) return 3;
      return in0 === 'int8' ? 2 : 1;
    case 'RESIZE_NEAREST_NEIGHBOR':
      if (in0 === 'int16') return 4;
      if (op.options.halfPixelCenters || op.options.alignCorners) return 3;
      return in0 === 'int8' ? 2 : 1;
    case 'DEPTH_TO_SPACE':
    case 'SPACE_TO_DEPTH':
      return in0 === 'int8' ? 2 : 1;
    case 'DEQUANTIZE':
      if (in0 === 'int16' || in0 === 'float16') return 3;
      if (in0 === 'int8') return perAxis(graph, op.inputs[0]) ? 5 : 2;
      return 1;
    case 'QUANTIZE':
      if (perAxis(graph, op.outputs[0])) return 3;
      return out0 === 'int16' ? 2 : 1;
    case 'RESHAPE':
    case 'SQUEEZE':
    case 'PRELU':
    case 'HARD_SWISH':
      return 1;
    case 'CUSTOM':
    case 'UNKNOWN_BUILTIN':
      return 1;
  }
}

/** The version the writer stores: never lower than the op's own, never lower than required. */
export function writtenOpVersion(graph: Graph, op: Op): number {
  return Math.max(op.version ?? 1, requiredOpVersion(graph, op));
}
