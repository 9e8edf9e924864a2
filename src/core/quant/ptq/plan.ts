/**
 * Which ops of a float graph become integer ops, and how each of their inputs is treated.
 *
 * Roles follow TFLite's int8 quantization spec:
 *  - linear ops (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV): activation input,
 *    symmetric int8 weights (per output channel by default), int32 bias at S_in·S_w;
 *  - ops whose output must carry its input's parameters (pools, reshapes, pads, resizes,
 *    depth/space shuffles; CONCATENATION ties all its inputs too);
 *  - ops with fixed output parameters (LOGISTIC, SOFTMAX: 1/256 with zero point −128; TANH:
 *    1/128 with 0; 1/32768 with 0 in 16-bit);
 *  - the rest requantize freely (ADD, SUB, MUL, MEAN, RELU, RELU6, LEAKY_RELU, PRELU, HARD_SWISH).
 * An op is quantized only when the runtime has a kernel for the integer signature it would get;
 * otherwise it is an error naming the op (or, with `keepFloat: ['auto']`, it stays float).
 */
import { UserError } from '../../errors';
import type { DType, Graph, Op } from '../../ir/types';
import type { AnyKernelConfig, OpSignature } from '../../runtime/kernel';
import { ALL_KERNELS } from '../../runtime/kernels/register-all';
import { opName, opTypeLabel } from '../../runtime/interpreter';

export interface LinearRole {
  act: number;
  weight: number;
  bias: number;
  /** Quantized (output channel) dimension of the weights. */
  axis: number;
}

export const LINEAR_OPS: Readonly<Partial<Record<Op['type'], LinearRole>>> = {
  CONV_2D: { act: 0, weight: 1, bias: 2, axis: 0 },
  DEPTHWISE_CONV_2D: { act: 0, weight: 1, bias: 2, axis: 3 },
  FULLY_CONNECTED: { act: 0, weight: 1, bias: 2, axis: 0 },
  TRANSPOSE_CONV: { act: 2, weight: 1, bias: 3, axis: 0 },
};

/** Output shares the parameters of input 0 (all float inputs for CONCATENATION). */
export const SAME_PARAMS_OPS: ReadonlySet<Op['type']> = new Set([
  'MAX_POOL_2D',
  'AVERAGE_POOL_2D',
  'RESHAPE',
  'SQUEEZE',
  'PAD',
  'RESIZE_BILINEAR',
  'RESIZE_NEAREST_NEIGHBOR',
  'DEPTH_TO_SPACE',
  'SPACE_TO_DEPTH',
  'CONCATENATION',
]);

const FREE_OPS: ReadonlySet<Op['type']> = new Set(['ADD', 'SUB', 'MUL', 'MEAN', 'RELU', 'RELU6', 'LEAKY_RELU', 'PRELU', 'HARD_SWISH']);

/** [scale, zeroPoint] of the output, by activation type. */
export const FIXED_OUTPUT: Readonly<Partial<Record<Op['type'], Partial<Record<DType, [number, number]>>>>> = {
  LOGISTIC: { int8: [1 / 256, -128], int16: [1 / 32768, 0] },
  SOFTMAX: { int8: [1 / 256, -128], int16: [1 / 32768, 0] },
  TANH: { int8: [1 / 128, 0], int16: [1 / 32768, 0] },
};

export interface OpDecision {
  quantized: boolean;
  /** Why the op stays float (when it does). */
  reason?: string;
}

/** Does `name` pick op `i`: its name, its first output's name, or its type ('SOFTMAX', 'CUSTOM'). */
function matches(graph: Graph, op: Op, i: number, name: string): boolean {
  if (name === opName(graph, op, i) || name === graph.tensors[op.outputs[0]]?.name) return true;
  if (name === op.type) return true;
  return op.type === 'CUSTOM' && name === op.code;
}

function isFloatActivation(graph: Graph, t: number): boolean {
  const tensor = graph.tensors[t];
  return t >= 0 && tensor !== undefined && tensor.dtype === 'float32' && tensor.data === undefined;
}

/** The integer signature op `op` would get with activations of type `act`. */
export function integerSignature(graph: Graph, op: Op, act: DType): OpSignature {
  const linear = LINEAR_OPS[op.type];
  const biasType: DType = act === 'int16' ? 'int64' : 'int32';
  const inputs = op.inputs.map((t, slot): DType | null => {
    if (t < 0) return null;
    const tensor = graph.tensors[t];
    if (linear && slot === linear.weight) return 'int8';
    if (linear && slot === linear.bias) return biasType;
    return tensor.dtype === 'float32' ? act : tensor.dtype;
  });
  return { inputs, outputs: op.outputs.map((t) => (graph.tensors[t].dtype === 'float32' ? act : graph.tensors[t].dtype)) };
}

export function hasIntegerKernel(graph: Graph, op: Op, act: DType, kernels: readonly AnyKernelConfig[] = ALL_KERNELS): boolean {
  if (op.type === 'CUSTOM' || op.type === 'UNKNOWN_BUILTIN') return false;
  const sig = integerSignature(graph, op, act);
  return kernels.some((k) => k.opType === op.type && k.accepts(sig));
}

/**
 * Decides, for every op of a float graph, whether it is quantized. `keepFloat` names ops (by op
 * name, output tensor name, op type or custom code); the word 'auto' keeps every op without an
 * integer kernel float instead of failing. A name that picks nothing is an error.
 */
export function planOps(graph: Graph, act: DType, keepFloat: readonly string[], autoKeepFloat: boolean): OpDecision[] {
  const names = keepFloat.filter((n) => n !== 'auto');
  const auto = autoKeepFloat || keepFloat.includes('auto');
  for (const name of names) {
    if (!graph.ops.some((op, i) => matches(graph, op, i, name))) {
      const known = graph.ops.slice(0, 8).map((op, i) => `'${opName(graph, op, i)}'`).join(', ');
      throw new UserError(
        'bad-input',
        `--keep-float names '${name}', which is no op name, output tensor or op type of graph '${graph.name}' (ops are named ${known}${graph.ops.length > 8 ? ', …' : ''}; see \`quantlab inspect\`).`,
      );
    }
  }
  return graph.ops.map((op, i): OpDecision => {
    const label = `Op ${i} '${opName(graph, op, i)}' (${opTypeLabel(op)})`;
    if (names.some((n) => matches(graph, op, i, n))) return { quantized: false, reason: 'kept float on request' };
    const floatIo = op.inputs.some((t) => isFloatActivation(graph, t)) || op.outputs.some((t) => isFloatActivation(graph, t));
    if (!floatIo) return { quantized: false, reason: 'has no float activations' };
    if (op.type === 'QUANTIZE' || op.type === 'DEQUANTIZE') return { quantized: false, reason: 'is a type conversion already' };
    const linear = LINEAR_OPS[op.type];
    if (linear) {
      const w = graph.tensors[op.inputs[linear.weight]];
      if (!w || w.data === undefined || w.dtype !== 'float32') {
        return refuse(label, 'its weights are not a float32 constant', auto);
      }
    }
    const known = linear !== undefined || SAME_PARAMS_OPS.has(op.type) || FREE_OPS.has(op.type) || FIXED_OUTPUT[op.type] !== undefined;
    if (!known || !hasIntegerKernel(graph, op, act)) {
      return refuse(label, `the runtime has no ${act} kernel for it`, auto);
    }
    if (FIXED_OUTPUT[op.type] && !FIXED_OUTPUT[op.type]?.[act]) return refuse(label, `it has no fixed ${act} output parameters`, auto);
    return { quantized: true };
  });
}

function refuse(label: string, why: string, auto: boolean): OpDecision {
  if (auto) return { quantized: false, reason: why };
  throw new UserError(
    'unsupported',
    `${label} cannot be quantized: ${why}. Keep it float with --keep-float '${label.split("'")[1]}' (or --keep-float auto for every such op).`,
  );
}
