/**
 * Delegate pre-flight: will this graph run on NNAPI or the GPU delegate at a given Android level,
 * which nodes fall back to the CPU, and into how many partitions the graph splits — the facts
 * TFLite's benchmark tool prints ("Replacing N out of M node(s) with delegate (…) node, yielding
 * P partitions for the whole graph"), predicted from the file alone. Pure: Graph in, report out.
 *
 * Rules, in order (sources in delegates/nnapi.ts and delegates/gpu.ts):
 * 1. Static shapes everywhere, batch included. A tensor whose shape keeps an unknown (-1)
 *    dimension makes TFLite refuse the delegate for the whole graph ("Attempting to use a
 *    delegate that only supports static-sized tensors with a graph that has dynamic-sized
 *    tensors"); the prediction is then 0 nodes delegated, and what would happen with static
 *    shapes is reported beside it.
 * 2. Per op: the delegate's table (op type, op version, Android level, data type, options).
 *    NNAPI needs API 27 (NNAPI 1.0) at all.
 * 3. A DEQUANTIZE of constant float16 weights is folded into the op that reads it by both
 *    delegates: it goes to the delegate when every op reading it does (TFLite's
 *    FP16GraphPartitionHelper), and never splits a partition.
 * 4. Partitions: TFLite's own partitioning (graph_info.cc, PartitionGraphIntoIndependentNodeSubsets):
 *    in execution order, each round takes every node whose inputs are ready and whose kind
 *    (delegated or not) matches the first ready node's kind, until none is left; each round is
 *    one partition. Supported nodes that are independent of a CPU node between them join the
 *    same partition, so this is not simply "runs of supported nodes".
 * 5. The delegate keeps only its N largest delegated partitions (GraphPartitionHelper::
 *    GetFirstNLargestPartitions; NNAPI's default N is 3, the GPU delegate's 1); the nodes of the
 *    others run on the CPU. The graph is partitioned again with the final set: `partitions`
 *    counts every partition of the whole graph (CPU ones included), as the benchmark log does,
 *    and `delegatedPartitions` the delegate kernels.
 */
import { describeOp, formatShape, isStaticShape } from '../ir/graph';
import { inferShapesWithCustomOps } from '../ir/legalize';
import type { DType, Graph, Op } from '../ir/types';
import { writtenOpVersion } from '../formats/tflite/versions';
import { GPU_MAX_PARTITIONS, GPU_OPS, gpuTensorTypes } from './delegates/gpu';
import { NNAPI_1_0, NNAPI_1_3, NNAPI_CUSTOM_NOTES, NNAPI_MAX_PARTITIONS, NNAPI_OPS, needs } from './delegates/nnapi';
import { isConstTensor, opKey, opTypeName, type DelegateOpEntry, type OpProblem, type OpView, type PreflightFindingKind } from './delegates/types';

export type { PreflightFindingKind } from './delegates/types';

export type PreflightDelegate = 'nnapi' | 'gpu';

export const PREFLIGHT_SOURCE = 'QuantLab delegate pre-flight 1';

export interface PreflightOptions {
  delegate: PreflightDelegate;
  /** The phone's Android API level (SDK level). */
  androidApi: number;
  /** Delegated partitions the delegate keeps (default: NNAPI 3, GPU 1). */
  maxPartitions?: number;
}

export interface PreflightOp {
  index: number;
  name: string;
  /** 'CONV_2D', or the custom code ('Convolution2DTransposeBias'). */
  type: string;
  custom: boolean;
  version: number;
  /** The delegate's rules accept the op at this level. */
  supported: boolean;
  /** Predicted to run inside the delegate (supported, in a kept partition, shapes static). */
  delegated: boolean;
  /** A DEQUANTIZE of constant float16 weights, which goes where its readers go. */
  foldedWeights: boolean;
  reasons: OpProblem[];
  note: string | null;
  /** Index into `partitionList` of the partition holding the op. */
  partition: number;
}

export interface PreflightPartition {
  delegated: boolean;
  nodes: number[];
}

export type PreflightFixId = 'batch' | 'transpose-conv';

export interface PreflightFinding {
  kind: PreflightFindingKind;
  severity: 'error' | 'warning';
  opIndex: number | null;
  opName: string | null;
  opType: string | null;
  tensor: string | null;
  /** One sentence naming the op (index, name, type) or the tensor. */
  message: string;
  fix: PreflightFixId | null;
}

export interface PreflightPrediction {
  nodesTotal: number;
  nodesDelegated: number;
  /** Delegate kernels (delegated partitions). */
  delegatedPartitions: number;
  /** Partitions of the whole graph, CPU ones included (the benchmark log's "yielding P partitions"); 0 when nothing is delegated. */
  partitions: number;
}

export interface PreflightReport extends PreflightPrediction {
  source: string;
  delegate: PreflightDelegate;
  delegateName: string;
  androidApi: number;
  partitionLimit: number;
  staticShapes: boolean;
  dynamicTensors: { index: number; name: string; shape: number[] }[];
  /** True when the delegate will be refused for dynamic-sized tensors. */
  expectsStaticShapeFallback: boolean;
  /** The prediction were the shapes static (equal to the report's own when they are). */
  whenStatic: PreflightPrediction;
  ops: PreflightOp[];
  partitionList: PreflightPartition[];
  findings: PreflightFinding[];
  fixes: { id: PreflightFixId; description: string }[];
  notes: string[];
  /** "GPU: 164 nodes delegated out of 164 nodes with 1 partitions" in the benchmark tool's words. */
  summary: string;
}

interface DelegateSpec {
  name: string;
  table: Readonly<Record<string, DelegateOpEntry>>;
  maxPartitions: number;
  minApi: number;
  customNotes: Readonly<Record<string, string>>;
  common?: (v: OpView, key: string) => OpProblem[];
}

const SPECS: Record<PreflightDelegate, DelegateSpec> = {
  nnapi: { name: 'NNAPI', table: NNAPI_OPS, maxPartitions: NNAPI_MAX_PARTITIONS, minApi: NNAPI_1_0, customNotes: NNAPI_CUSTOM_NOTES },
  gpu: { name: 'GPU', table: GPU_OPS, maxPartitions: GPU_MAX_PARTITIONS, minApi: 0, customNotes: {}, common: gpuTensorTypes },
};

const TRANSPOSE_CONV_KEYS: ReadonlySet<string> = new Set(['TRANSPOSE_CONV', 'CUSTOM:Convolution2DTransposeBias']);

function opName(graph: Graph, op: Op, index: number): string {
  return op.name ?? graph.tensors[op.outputs[0]]?.name ?? `#${index}`;
}

function mainInputDtype(graph: Graph, op: Op): DType | undefined {
  const t = op.type === 'TRANSPOSE_CONV' ? op.inputs[2] : op.inputs[0];
  return t !== undefined && t >= 0 && t < graph.tensors.length ? graph.tensors[t].dtype : undefined;
}

function isFloat16Weights(graph: Graph, op: Op): boolean {
  return op.type === 'DEQUANTIZE' && graph.tensors[op.inputs[0]]?.dtype === 'float16' && isConstTensor(graph, op.inputs[0]);
}

/** Problems the delegate's rules find with one op (empty: supported). */
function checkOp(spec: DelegateSpec, v: OpView): { reasons: OpProblem[]; note: string | null } {
  const key = opKey(v.op);
  const entry = spec.table[key];
  if (!entry) {
    if (v.op.type === 'CUSTOM') {
      const note = spec.customNotes[v.op.code];
      return { reasons: [{ kind: 'custom-op-not-supported', reason: `the ${spec.name} delegate runs no custom op '${v.op.code}'${note ? ` (${note})` : ''}` }], note: note ?? null };
    }
    return { reasons: [{ kind: 'op-not-supported', reason: `the ${spec.name} delegate has no ${opTypeName(v.op)}` }], note: null };
  }
  const reasons: OpProblem[] = [];
  if (entry.minApi !== undefined && v.androidApi < entry.minApi) reasons.push({ kind: 'android-api-too-low', reason: `${opTypeName(v.op)} needs ${needs(entry.minApi)}` });
  if (entry.maxVersion !== undefined && v.version > entry.maxVersion) {
    reasons.push({ kind: 'op-version-too-new', reason: `it is version ${v.version} and the ${spec.name} delegate takes up to version ${entry.maxVersion}` });
  }
  if (entry.dtypes && v.dtype) {
    const min = entry.dtypes[v.dtype];
    if (min === undefined) {
      const ok = Object.keys(entry.dtypes).join(', ');
      reasons.push({ kind: 'dtype-not-supported', reason: `its input is ${v.dtype} and the ${spec.name} delegate takes ${ok}` });
    } else if (v.androidApi < min && !(entry.minApi !== undefined && min <= entry.minApi)) {
      reasons.push({ kind: 'android-api-too-low', reason: `${v.dtype} data needs ${needs(min)}` });
    }
  }
  if (entry.check) reasons.push(...entry.check(v));
  if (spec.common) reasons.push(...spec.common(v, key));
  return { reasons, note: entry.note ?? null };
}

/**
 * TFLite's partitioning of the execution plan into independent node subsets of one kind each
 * (see rule 4 in the file comment). Nodes are op indices in execution (file) order.
 */
export function partitionNodes(graph: Graph, delegated: (opIndex: number) => boolean): PreflightPartition[] {
  const produced = new Array<boolean>(graph.tensors.length).fill(false);
  for (const op of graph.ops) for (const t of op.outputs) if (t >= 0) produced[t] = true;
  // A tensor no op writes (graph input, constant) is always ready.
  const ready = produced.map((p) => !p);
  const done = new Array<boolean>(graph.ops.length).fill(false);
  const out: PreflightPartition[] = [];
  for (;;) {
    let kind: boolean | undefined;
    const nodes: number[] = [];
    for (let progress = true; progress; ) {
      progress = false;
      for (let i = 0; i < graph.ops.length; i++) {
        if (done[i]) continue;
        const op = graph.ops[i];
        if (op.inputs.some((t) => t >= 0 && t < ready.length && !ready[t])) continue;
        const k = delegated(i);
        kind ??= k;
        if (k !== kind) continue;
        done[i] = true;
        nodes.push(i);
        for (const t of op.outputs) if (t >= 0) ready[t] = true;
        progress = true;
      }
    }
    if (nodes.length === 0) return out;
    out.push({ delegated: kind === true, nodes });
  }
}

interface Plan {
  delegated: boolean[];
  partitions: PreflightPartition[];
  dropped: PreflightPartition[];
  prediction: PreflightPrediction;
}

function plan(graph: Graph, supported: readonly boolean[], folded: readonly boolean[], limit: number): Plan {
  const n = graph.ops.length;
  const preview = partitionNodes(graph, (i) => supported[i] && !folded[i]);
  const candidates = preview.filter((p) => p.delegated);
  // Stable: equal sizes keep execution order.
  const ranked = candidates.map((p, k) => ({ p, k })).sort((a, b) => b.p.nodes.length - a.p.nodes.length || a.k - b.k);
  const kept = ranked.slice(0, limit).map((r) => r.p);
  const dropped = ranked.slice(limit).map((r) => r.p);
  const inSet = new Array<boolean>(n).fill(false);
  for (const p of kept) for (const i of p.nodes) inSet[i] = true;
  // Folded float16 weights follow their readers.
  const readers: number[][] = graph.tensors.map(() => []);
  graph.ops.forEach((op, i) => op.inputs.forEach((t) => t >= 0 && t < readers.length && readers[t].push(i)));
  graph.ops.forEach((op, i) => {
    if (!folded[i]) return;
    const r = readers[op.outputs[0]] ?? [];
    if (r.length > 0 && r.every((j) => inSet[j])) inSet[i] = true;
  });
  const nodesDelegated = inSet.filter(Boolean).length;
  const partitions = nodesDelegated > 0 ? partitionNodes(graph, (i) => inSet[i]) : [{ delegated: false, nodes: Array.from({ length: n }, (_, i) => i) }];
  return {
    delegated: inSet,
    partitions,
    dropped,
    prediction: {
      nodesTotal: n,
      nodesDelegated,
      delegatedPartitions: partitions.filter((p) => p.delegated).length,
      partitions: nodesDelegated > 0 ? partitions.length : 0,
    },
  };
}

function sentenceCase(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The pre-flight of `graph` for one delegate at one Android level. */
export function preflight(graph: Graph, options: PreflightOptions): PreflightReport {
  const spec = SPECS[options.delegate];
  const api = options.androidApi;
  const limit = options.maxPartitions ?? spec.maxPartitions;
  const findings: PreflightFinding[] = [];
  const notes: string[] = [];
  const n = graph.ops.length;

  // ---- shapes -------------------------------------------------------------------------------
  let shapes: number[][];
  try {
    shapes = inferShapesWithCustomOps(graph);
  } catch {
    shapes = graph.tensors.map((t) => [...t.shape]);
  }
  const dynamicTensors = graph.tensors
    .map((t, i) => ({ index: i, name: t.name, shape: isStaticShape(t.shape) ? shapes[i] : t.shape }))
    .filter((t) => !graph.tensors[t.index].data && !isStaticShape(t.shape));
  const readers = (t: number) => graph.ops.map((op, i) => (op.inputs.includes(t) ? i : -1)).filter((i) => i >= 0);
  for (const t of graph.inputs) {
    const x = graph.tensors[t];
    if (isStaticShape(x.shape)) continue;
    const onlyBatch = x.shape.length > 0 && x.shape[0] < 0 && isStaticShape(x.shape.slice(1));
    const first = readers(t)[0];
    const others = dynamicTensors.length - 1;
    findings.push({
      kind: 'dynamic-shape',
      severity: 'error',
      opIndex: first ?? null,
      opName: first !== undefined ? opName(graph, graph.ops[first], first) : null,
      opType: first !== undefined ? opTypeName(graph.ops[first]) : null,
      tensor: x.name,
      message:
        `Input '${x.name}' has shape ${formatShape(x.shape)} with ${onlyBatch ? 'an unknown batch size' : 'unknown dimensions'}` +
        `${first !== undefined ? `, read by ${describeOp(graph, first)}` : ''}${others > 0 ? `, and ${others} other tensor${others === 1 ? '' : 's'} follow${others === 1 ? 's' : ''} it` : ''}: ` +
        `the ${spec.name} delegate takes only static shapes, so TFLite runs the whole graph on the CPU. ` +
        (onlyBatch ? 'Fix: set the batch size to 1 (--fix batch).' : `Fix: give the input a static shape (quantlab convert --input-shape ${x.name}=…).`),
      fix: onlyBatch ? 'batch' : null,
    });
  }
  if (dynamicTensors.length > 0 && findings.length === 0) {
    const d = dynamicTensors[0];
    findings.push({
      kind: 'dynamic-shape',
      severity: 'error',
      opIndex: null,
      opName: null,
      opType: null,
      tensor: d.name,
      message: `Tensor '${d.name}' has shape ${formatShape(d.shape)} with unknown dimensions although the inputs are static (${dynamicTensors.length} such tensor${dynamicTensors.length === 1 ? '' : 's'}): the ${spec.name} delegate takes only static shapes, so TFLite runs the whole graph on the CPU.`,
      fix: null,
    });
  }
  const staticShapes = dynamicTensors.length === 0;

  // ---- ops ----------------------------------------------------------------------------------
  const unavailable = api < spec.minApi;
  if (unavailable) {
    findings.push({
      kind: 'delegate-unavailable',
      severity: 'error',
      opIndex: null,
      opName: null,
      opType: null,
      tensor: null,
      message: `Android API ${api} has no NNAPI (it starts at ${needs(NNAPI_1_0)}): every node runs on the CPU.`,
      fix: null,
    });
  }
  const folded = graph.ops.map((op) => isFloat16Weights(graph, op));
  const ops: PreflightOp[] = graph.ops.map((op, i) => {
    const v: OpView = { graph, op, index: i, version: writtenOpVersion(graph, op), shapes, androidApi: api, dtype: mainInputDtype(graph, op) };
    const { reasons, note } = folded[i] ? { reasons: [], note: 'float16 weights, folded into the op that reads them' } : checkOp(spec, v);
    return {
      index: i,
      name: opName(graph, op, i),
      type: opTypeName(op),
      custom: op.type === 'CUSTOM',
      version: v.version,
      supported: !unavailable && reasons.length === 0,
      delegated: false,
      foldedWeights: folded[i],
      reasons,
      note,
      partition: -1,
    };
  });
  for (const o of ops) {
    if (unavailable || o.reasons.length === 0) continue;
    const op = graph.ops[o.index];
    const key = opKey(op);
    const fixable = TRANSPOSE_CONV_KEYS.has(key);
    findings.push({
      kind: o.reasons[0].kind,
      severity: 'error',
      opIndex: o.index,
      opName: o.name,
      opType: o.type,
      tensor: null,
      message: `${sentenceCase(describeOp(graph, o.index))} stays on the CPU: ${o.reasons.map((r) => r.reason).join('; ')}.${fixable ? ' Fix: replace it by CONV_2D + DEPTH_TO_SPACE (--fix transpose-conv).' : ''}`,
      fix: fixable ? 'transpose-conv' : null,
    });
  }

  // ---- partitions ---------------------------------------------------------------------------
  const supported = ops.map((o) => o.supported);
  const p = plan(graph, supported, folded, limit);
  for (const d of p.dropped) {
    const first = d.nodes[0];
    findings.push({
      kind: 'partition-limit',
      severity: 'warning',
      opIndex: first,
      opName: ops[first].name,
      opType: ops[first].type,
      tensor: null,
      message: `${sentenceCase(describeOp(graph, first))}${d.nodes.length > 1 ? ` and ${d.nodes.length - 1} more supported node${d.nodes.length === 2 ? '' : 's'} with it stay` : ' stays'} on the CPU although supported: the ${spec.name} delegate keeps only its ${limit} largest partition${limit === 1 ? '' : 's'}.`,
      fix: null,
    });
  }
  const whenStatic = p.prediction;
  const prediction: PreflightPrediction = staticShapes ? whenStatic : { nodesTotal: n, nodesDelegated: 0, delegatedPartitions: 0, partitions: 0 };
  const partitionList = staticShapes ? p.partitions : [{ delegated: false, nodes: Array.from({ length: n }, (_, i) => i) }];
  partitionList.forEach((part, k) => part.nodes.forEach((i) => (ops[i].partition = k)));
  for (const o of ops) o.delegated = staticShapes && p.delegated[o.index];

  if (options.delegate === 'nnapi' && api < NNAPI_1_3 && graph.ops.some((op) => mainInputDtype(graph, op) === 'int8')) {
    notes.push(`Below ${needs(NNAPI_1_3)} NNAPI has no signed int8: the delegate runs int8 ops as uint8 (zero point + 128), and takes int8 convolutions from API 29 only.`);
  }
  if (options.delegate === 'nnapi' && api >= 35) notes.push('NNAPI is deprecated from Android 15 (API 35); the GPU delegate and vendor delegates are the supported paths.');
  if (options.delegate === 'nnapi' && api >= 29) notes.push('From API 29 NNAPI delegates only when the phone has an accelerator besides nnapi-reference (or one is named); the driver may still refuse ops the delegate accepts.');
  if (options.delegate === 'gpu') {
    const batches = graph.inputs.map((t) => shapes[t][0]).filter((b) => b !== undefined && b > 1);
    if (batches.length) notes.push(`An input has batch ${batches[0]}; the GPU delegate is built for batch 1 and may refuse or slow down larger batches.`);
  }

  const fixes: { id: PreflightFixId; description: string }[] = [];
  if (findings.some((f) => f.fix === 'batch')) fixes.push({ id: 'batch', description: 'set the unknown batch size of every input to 1 and re-infer every shape' });
  if (findings.some((f) => f.fix === 'transpose-conv')) {
    fixes.push({ id: 'transpose-conv', description: 'replace each transpose convolution by CONV_2D + DEPTH_TO_SPACE (exact when kernel = stride), else RESIZE_BILINEAR + CONV_2D (approximate; the error is measured)' });
  }

  return {
    source: PREFLIGHT_SOURCE,
    delegate: options.delegate,
    delegateName: spec.name,
    androidApi: api,
    partitionLimit: limit,
    staticShapes,
    dynamicTensors,
    expectsStaticShapeFallback: !staticShapes,
    ...prediction,
    whenStatic,
    ops,
    partitionList,
    findings,
    fixes,
    notes,
    summary: `${spec.name}: ${prediction.nodesDelegated} nodes delegated out of ${n} nodes with ${prediction.delegatedPartitions} partitions${prediction.nodesDelegated > 0 ? ` (${prediction.partitions} partitions for the whole graph)` : ''}`,
  };
}

/** The finding kinds of a report, each once, in order of first appearance. */
export function findingKinds(report: PreflightReport): PreflightFindingKind[] {
  return [...new Set(report.findings.map((f) => f.kind))];
}
