/**
 * Prediction vs phone: each device run stores, beside the delegation the phone measured, what the
 * delegate pre-flight (core/analysis/preflight.ts) predicted for that delegate at the phone's
 * Android level, and the comparison of the two: every difference between predicted and measured
 * delegation is flagged with the ops involved, so the pre-flight's rules can be checked against
 * real phones. Runs without a delegate to predict (cpu, xnnpack, the desktop) and runs whose
 * model or Android level is unknown store `prediction: null` with the reason.
 */
import type { PreflightReport } from '../../core/analysis/preflight';
import type { BenchDelegation, OpProfile, OpProfileRow } from './benchmark-parser';

export interface OpRef {
  /** Node (op) index in the model's main subgraph, when known. */
  index: number | null;
  /** Op name as the model names it (usually its first output tensor). */
  name: string;
  /** Builtin op type, e.g. 'TRANSPOSE_CONV'. */
  type: string;
}

export interface PredictedOp extends OpRef {
  /** Why the pre-flight thinks the delegate refuses it. */
  reason: string | null;
}

export interface PredictedDelegation {
  /** The requested delegate the prediction is about ('xnnpack', 'gpu', 'nnapi'). */
  delegate: string;
  nodesDelegated: number;
  nodesTotal: number;
  partitions: number;
  /** Ops the pre-flight expects to stay on the CPU. */
  cpuOps: PredictedOp[];
  /** Whether the pre-flight expects the delegate to refuse the graph for dynamic shapes. */
  expectsStaticShapeFallback: boolean;
  /** What produced the prediction (analysis name and version). */
  source: string;
}

export type DelegationFlagCode =
  | 'no-measurement'
  | 'delegate-not-applied'
  | 'delegate-applied-unexpectedly'
  | 'static-shape-fallback'
  | 'fewer-nodes-delegated'
  | 'more-nodes-delegated'
  | 'partitions-differ'
  | 'node-count-differs'
  | 'ops-on-cpu-not-predicted'
  | 'ops-delegated-not-predicted';

export interface DelegationFlag {
  code: DelegationFlagCode;
  /** One sentence for the researcher. */
  message: string;
  ops: OpRef[];
}

export interface DelegationComparison {
  /** True when nothing was flagged. */
  agrees: boolean;
  /** measured − predicted; null when the phone did not say. */
  nodesDelegatedDelta: number | null;
  partitionsDelta: number | null;
  /** Ops the phone ran outside the delegate, from the op profile; null without profiling. */
  measuredCpuOps: OpRef[] | null;
  flags: DelegationFlag[];
}

/** What each device run stores in `predicted_json`. */
export interface PredictionRecord {
  prediction: PredictedDelegation | null;
  /** Why there is no prediction (null when there is one). */
  reason: string | null;
  comparison: DelegationComparison | null;
}

/** Why a run has no prediction. */
export const NO_PREDICTION = {
  noDelegate: (delegate: string) => `Nothing to predict: the ${delegate} run uses neither the NNAPI nor the GPU delegate, which the pre-flight covers.`,
  unreadableModel: (why: string) => `No prediction: QuantLab could not read the model for the pre-flight (${why}).`,
  unknownSdk: 'No prediction: the phone did not report its Android SDK level, which the NNAPI and GPU pre-flight needs.',
} as const;

/** The pre-flight's report in the shape a device run stores. */
export function predictionFromPreflight(report: PreflightReport): PredictedDelegation {
  const reasonOf = (i: number): string | null => {
    const o = report.ops[i];
    if (!report.staticShapes) return 'dynamic-sized tensors: the delegate is refused for the whole graph';
    if (o.reasons.length) return o.reasons.map((r) => r.reason).join('; ');
    if (o.foldedWeights) return 'float16 weights read by an op that stays on the CPU';
    return `supported, but outside the ${report.partitionLimit} largest partition${report.partitionLimit === 1 ? '' : 's'} the delegate keeps`;
  };
  return {
    delegate: report.delegate,
    nodesDelegated: report.nodesDelegated,
    nodesTotal: report.nodesTotal,
    partitions: report.partitions,
    cpuOps: report.ops.filter((o) => !o.delegated).map((o) => ({ index: o.index, name: o.name, type: o.type, reason: reasonOf(o.index) })),
    expectsStaticShapeFallback: report.expectsStaticShapeFallback,
    source: `${report.source}, ${report.delegateName} at Android API ${report.androidApi}`,
  };
}

/** Delegate kernels in a profile table carry the delegate's name as their node type. */
export function isDelegateNode(nodeType: string): boolean {
  return /delegate/i.test(nodeType) || nodeType === 'DELEGATE';
}

/** The ops the phone ran outside any delegate, from a regular-runs profile. */
export function measuredCpuOps(profile: OpProfile | null): OpRef[] | null {
  if (!profile || profile.runOrder.length === 0) return null;
  return profile.runOrder.filter((r: OpProfileRow) => !isDelegateNode(r.nodeType)).map((r) => ({ index: r.nodeIndex, name: r.name, type: r.nodeType }));
}

function sameOp(a: OpRef, b: OpRef): boolean {
  if (a.index !== null && b.index !== null) return a.index === b.index;
  return a.name === b.name;
}

function describeOps(ops: OpRef[]): string {
  const shown = ops.slice(0, 5).map((o) => `${o.type} '${o.name}'${o.index !== null ? ` (#${o.index})` : ''}`);
  return shown.join(', ') + (ops.length > 5 ? ` and ${ops.length - 5} more` : '');
}

export function compareDelegation(predicted: PredictedDelegation, measured: BenchDelegation, profile: OpProfile | null): DelegationComparison {
  const flags: DelegationFlag[] = [];
  const cpuOps = measuredCpuOps(profile);
  const nodes = measured.nodesDelegated;
  const partitions = measured.partitions;

  if (measured.staticShapeWarning) {
    flags.push({
      code: 'static-shape-fallback',
      message: predicted.expectsStaticShapeFallback
        ? 'The phone refused the delegate for dynamic-sized tensors, as predicted: fix the input shapes (batch included) to use it.'
        : 'The phone refused the delegate because the graph has dynamic-sized tensors, which the pre-flight did not predict: fix the input shapes (batch included).',
      ops: [],
    });
  }

  if (nodes === null || partitions === null) {
    flags.push({ code: 'no-measurement', message: `The benchmark log does not say how many nodes the ${predicted.delegate} delegate took, so the prediction cannot be checked.`, ops: [] });
  } else {
    if (predicted.nodesDelegated > 0 && nodes === 0) {
      flags.push({
        code: 'delegate-not-applied',
        message: `The pre-flight predicted ${predicted.nodesDelegated} of ${predicted.nodesTotal} nodes on the ${predicted.delegate} delegate, but the phone delegated none${measured.staticShapeWarning ? ' (dynamic-sized tensors)' : ''}.`,
        ops: [],
      });
    } else if (predicted.nodesDelegated === 0 && nodes > 0) {
      flags.push({
        code: 'delegate-applied-unexpectedly',
        message: `The pre-flight predicted the ${predicted.delegate} delegate would take no node, but the phone delegated ${nodes}.`,
        ops: [],
      });
    } else if (nodes < predicted.nodesDelegated) {
      flags.push({
        code: 'fewer-nodes-delegated',
        message: `The phone delegated ${nodes} nodes, ${predicted.nodesDelegated - nodes} fewer than the ${predicted.nodesDelegated} predicted.`,
        ops: [],
      });
    } else if (nodes > predicted.nodesDelegated) {
      flags.push({
        code: 'more-nodes-delegated',
        message: `The phone delegated ${nodes} nodes, ${nodes - predicted.nodesDelegated} more than the ${predicted.nodesDelegated} predicted.`,
        ops: [],
      });
    }
    // A delegate applied on one side only is already flagged above; partitions add nothing then.
    if (partitions !== predicted.partitions && nodes > 0 && predicted.nodesDelegated > 0) {
      flags.push({
        code: 'partitions-differ',
        message: `The phone split the graph into ${partitions} partition${partitions === 1 ? '' : 's'} (delegate and CPU), the pre-flight predicted ${predicted.partitions}; each boundary costs copies.`,
        ops: [],
      });
    }
  }
  if (measured.nodesTotal !== null && measured.nodesTotal !== predicted.nodesTotal) {
    flags.push({
      code: 'node-count-differs',
      message: `The phone counted ${measured.nodesTotal} nodes, the pre-flight ${predicted.nodesTotal}: the prediction may be about another version of the model.`,
      ops: [],
    });
  }

  if (cpuOps) {
    const delegateOn = nodes !== null && nodes > 0;
    // With no delegate in effect every op runs on the CPU: only op-level differences with a delegate mean anything.
    if (delegateOn) {
      const unexpectedCpu = cpuOps.filter((m) => !predicted.cpuOps.some((p) => sameOp(p, m)));
      if (unexpectedCpu.length) {
        flags.push({
          code: 'ops-on-cpu-not-predicted',
          message: `${unexpectedCpu.length} op${unexpectedCpu.length === 1 ? '' : 's'} ran on the CPU that the pre-flight expected on the ${predicted.delegate} delegate: ${describeOps(unexpectedCpu)}.`,
          ops: unexpectedCpu,
        });
      }
      const unexpectedDelegated = predicted.cpuOps.filter((p) => !cpuOps.some((m) => sameOp(p, m)));
      if (unexpectedDelegated.length) {
        const ops = unexpectedDelegated.map(({ index, name, type }) => ({ index, name, type }));
        flags.push({
          code: 'ops-delegated-not-predicted',
          message: `${ops.length} op${ops.length === 1 ? '' : 's'} the pre-flight expected on the CPU ran on the ${predicted.delegate} delegate: ${describeOps(ops)}.`,
          ops,
        });
      }
    }
  }

  return {
    agrees: flags.length === 0 || (flags.length === 1 && flags[0].code === 'static-shape-fallback' && predicted.expectsStaticShapeFallback),
    nodesDelegatedDelta: nodes === null ? null : nodes - predicted.nodesDelegated,
    partitionsDelta: partitions === null ? null : partitions - predicted.partitions,
    measuredCpuOps: cpuOps,
    flags,
  };
}

/**
 * The record stored with a run: the prediction and its comparison with what the phone measured
 * (none when the run did not complete: `measured` null), or no prediction and why.
 */
export function predictionRecord(prediction: PredictedDelegation | null, measured: BenchDelegation | null, profile: OpProfile | null, reason: string | null = null): PredictionRecord {
  if (!prediction) return { prediction: null, reason: reason ?? 'No prediction.', comparison: null };
  return { prediction, reason: null, comparison: measured ? compareDelegation(prediction, measured, profile) : null };
}
