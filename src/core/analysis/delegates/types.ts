/**
 * The shape of a delegate's op table (one data file per delegate: nnapi.ts, gpu.ts) and the
 * view of one op the table's checks read. Pure data plus small checks; the pre-flight
 * (../preflight.ts) applies them.
 */
import type { DType, Graph, Op } from '../../ir/types';

/** Stable finding kinds: what the UI, the CLI and tests key on. */
export type PreflightFindingKind =
  | 'dynamic-shape'
  | 'delegate-unavailable'
  | 'op-not-supported'
  | 'custom-op-not-supported'
  | 'op-version-too-new'
  | 'android-api-too-low'
  | 'dtype-not-supported'
  | 'options-not-supported'
  | 'partition-limit';

export interface OpProblem {
  kind: PreflightFindingKind;
  /** Why, as a clause ("dilation needs NNAPI 1.2 (API 29)"). */
  reason: string;
}

/** What a check sees of one op. */
export interface OpView {
  graph: Graph;
  op: Op;
  index: number;
  /** The op's TFLite version as it is (or would be) written. */
  version: number;
  /** Static shapes of every tensor (as far as known). */
  shapes: readonly (readonly number[])[];
  androidApi: number;
  /** The dtype of the op's main data input (TRANSPOSE_CONV: input 2). */
  dtype: DType | undefined;
}

export interface DelegateOpEntry {
  /** Lowest Android API level that takes the op at all. */
  minApi?: number;
  /** Highest op version the delegate accepts. */
  maxVersion?: number;
  /**
   * Data types of the main input the delegate takes, each with the lowest API level (NNAPI), or
   * 0 where the level does not matter (GPU). Absent: the table says nothing about types.
   */
  dtypes?: Partial<Record<DType, number>>;
  /** A fact worth telling even when the op is supported (shown beside the op). */
  note?: string;
  /** Option / operand checks beyond type and version. */
  check?: (v: OpView) => OpProblem[];
}

/** Table key of an op: the builtin's name, or 'CUSTOM:<code>'. */
export function opKey(op: Op): string {
  if (op.type === 'CUSTOM') return `CUSTOM:${op.code}`;
  if (op.type === 'UNKNOWN_BUILTIN') return op.code;
  return op.type;
}

/** 'CONV_2D', or the custom code for custom ops (what benchmark profiles call the node type). */
export function opTypeName(op: Op): string {
  if (op.type === 'CUSTOM' || op.type === 'UNKNOWN_BUILTIN') return op.code;
  return op.type;
}

export function isConstTensor(graph: Graph, t: number | undefined): boolean {
  return t !== undefined && t >= 0 && t < graph.tensors.length && graph.tensors[t].data !== undefined;
}

export function isPerChannel(graph: Graph, t: number | undefined): boolean {
  if (t === undefined || t < 0 || t >= graph.tensors.length) return false;
  const q = graph.tensors[t].quant;
  return !!q && q.scale.length > 1;
}

/** Options of a builtin op, when it has typed options. */
export function optionsOf(op: Op): Record<string, unknown> | undefined {
  return 'options' in op ? (op.options as Record<string, unknown>) : undefined;
}
