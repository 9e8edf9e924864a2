/**
 * The QuantLab interpreter: prepares a Graph once, then runs it many times.
 *
 * Prepare:
 *  1. every op must have a kernel (checked for all ops before anything runs);
 *  2. a topological execution plan (graph order where it is already valid);
 *  3. static shapes for every tensor (unknown input dims must be fixed by the caller), each
 *     kernel's `prepare` computing its outputs' shapes, checked against the shapes the graph
 *     declares;
 *  4. ops whose inputs are all constant (e.g. DEQUANTIZE of float16 weights) are run once here
 *     and their outputs become constants;
 *  5. a memory plan for the remaining activations, and one ArrayBuffer of exactly
 *     `peakActivationBytes` with a typed view per tensor.
 * Run copies inputs into the arena, runs the kernels in order and returns copies of the outputs;
 * nothing else is allocated per inference (timings aside, when enabled).
 *
 * int8 engine (option `int8Backend`, wasm/kernel-bridge.ts): the int8 kernels that fit the
 * WebAssembly SIMD128 engine ask for it while preparing; the first ask creates one engine for
 * this interpreter (its own WebAssembly memory, freed with the interpreter) and packs weights
 * into its heap. The arena is then allocated in that heap after the last prepare (so it never
 * grows and no view detaches), and engine ops run on the arena's views without copies.
 */
import { ModelFormatError, UnsupportedError, UserError } from '../errors';
import type { DType, Graph, Op, Tensor, TensorData } from '../ir/types';
import type { AnyKernelConfig, BoundTensor, KernelOpType, OpSignature, PreparedTensor, PrepareContext, RoundingMode, RunContext } from './kernel';
import { ALL_KERNELS } from './kernels/register-all';
import { assertQuantizationValid, isQuantizedGraph } from './lint-quant';
import type { MemoryPlan, PlanStep } from './memory-plan';
import { planMemory } from './memory-plan';
import { allocTyped, dataMatchesDtype, describeData, dtypeSizeBytes, numElements, shapeToString, typedView } from './tensor-utils';
import { isRequantizer } from './quantized-util';
import type { Int8Engine } from './wasm/engine';
import { createInt8Engine, hasWasmSimd128 } from './wasm/engine';
import type { InterpreterInt8Backend } from './wasm/kernel-bridge';

export interface InterpreterOptions {
  /**
   * Shapes for the graph inputs, in `graph.inputs` order (an entry may be omitted with
   * undefined). Needed when an input has an unknown (-1) dimension; may also resize an input.
   */
  inputShapes?: readonly (readonly number[] | undefined)[];
  /** Record per-op wall time on every run (default false). */
  profile?: boolean;
  /** Run ops whose inputs are all constants once at prepare time (default true). */
  foldConstants?: boolean;
  /** Give every activation its own bytes so intermediates stay readable after a run (default false). */
  preserveIntermediates?: boolean;
  /**
   * The integer rounding of the target to reproduce (default 'double-rounding', TFLite's
   * reference kernels). See RoundingMode.
   */
  rounding?: RoundingMode;
  /** Kernel list to use instead of the built-in register-all list (tests, experiments). */
  kernels?: readonly AnyKernelConfig[];
  /**
   * Check a quantized graph against TFLite's quantization scheme before planning (lint-quant.ts;
   * default true). Off only to study what a broken model does.
   */
  lintQuantization?: boolean;
  /**
   * Where int8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, pools, QUANTIZE and DEQUANTIZE run:
   * 'auto' (default) the WebAssembly SIMD128 engine where the runtime has SIMD128 and the op
   * fits it, else the TypeScript kernels; 'wasm' the same but an error where SIMD128 is missing;
   * 'typescript' the TypeScript kernels only. Both give identical codes.
   */
  int8Backend?: InterpreterInt8Backend;
}

export interface OpRequantization {
  opIndex: number;
  type: string;
  name: string;
  /** Where in the kernel's state it sits ('epilogue.rq', 'rq', …). */
  role: string;
  arithmetic: string;
  real: number[];
  m0: number[];
  shift: number[];
  xnnpackScale: number[];
}

export interface OpTiming {
  opIndex: number;
  type: string;
  ms: number;
}

export interface RunResult {
  /** Copies of the graph outputs, in `graph.outputs` order. */
  outputs: TensorData[];
  /** Per-op wall time, in execution order, when profiling is enabled. */
  timings?: OpTiming[];
}

export interface TensorInfo {
  index: number;
  name: string;
  dtype: DType;
  shape: number[];
}

export interface ExecutionStep {
  opIndex: number;
  /** 'CONV_2D', or "CUSTOM 'Convolution2DTransposeBias'". */
  type: string;
  name: string;
  flavour: string;
  inputs: number[];
  outputs: number[];
}

interface BoundStep {
  info: ExecutionStep;
  kernel: AnyKernelConfig;
  state: unknown;
  ctx: RunContext;
}

export function opTypeLabel(op: Op): string {
  if (op.type === 'CUSTOM') return `CUSTOM '${op.code}'`;
  if (op.type === 'UNKNOWN_BUILTIN') return op.code;
  return op.type;
}

export function opName(graph: Graph, op: Op, opIndex: number): string {
  return op.name ?? graph.tensors[op.outputs[0]]?.name ?? `#${opIndex}`;
}

function opLabel(graph: Graph, op: Op, opIndex: number): string {
  return `Op ${opIndex} '${opName(graph, op, opIndex)}' (${opTypeLabel(op)})`;
}

function kernelMatches(k: AnyKernelConfig, op: Op): boolean {
  if (op.type === 'UNKNOWN_BUILTIN') return false;
  if (op.type === 'CUSTOM') return k.opType === 'CUSTOM' && k.customCode === op.code;
  return k.opType === op.type;
}

/** Finds the kernel for every op, or throws for the first op the runtime cannot run. */
export function selectKernels(graph: Graph, kernels: readonly AnyKernelConfig[] = ALL_KERNELS): AnyKernelConfig[] {
  return graph.ops.map((op, i) => {
    const candidates = kernels.filter((k) => kernelMatches(k, op));
    if (candidates.length === 0) {
      throw new UnsupportedError(
        `Op ${i} '${opName(graph, op, i)}' is ${opTypeLabel(op)}, which the QuantLab runtime does not implement.`,
      );
    }
    const sig: OpSignature = {
      inputs: op.inputs.map((t) => (t < 0 ? null : graph.tensors[t]?.dtype ?? null)),
      outputs: op.outputs.map((t) => graph.tensors[t]?.dtype ?? 'float32'),
    };
    const kernel = candidates.find((k) => k.accepts(sig));
    if (!kernel) {
      const ins = sig.inputs.map((d) => d ?? '-').join(', ');
      const outs = sig.outputs.join(', ');
      throw new UnsupportedError(
        `Op ${i} '${opName(graph, op, i)}' is ${opTypeLabel(op)} with input types (${ins}) and output types (${outs}), which the QuantLab runtime does not implement (it has ${candidates.map((k) => k.flavour).join(', ')}).`,
      );
    }
    return kernel;
  });
}

function checkIndices(graph: Graph): void {
  const n = graph.tensors.length;
  const bad = (t: number) => !Number.isInteger(t) || t >= n || t < -1;
  graph.ops.forEach((op, i) => {
    for (const t of op.inputs) {
      if (bad(t)) throw new ModelFormatError(`${opLabel(graph, op, i)} reads tensor ${t}, but the graph has ${n} tensors.`);
    }
    for (const t of op.outputs) {
      if (bad(t) || t < 0) throw new ModelFormatError(`${opLabel(graph, op, i)} writes tensor ${t}, but the graph has ${n} tensors.`);
    }
  });
  for (const t of [...graph.inputs, ...graph.outputs]) {
    if (bad(t) || t < 0) throw new ModelFormatError(`The graph '${graph.name}' names tensor ${t} as an input or output, but it has ${n} tensors.`);
  }
}

/** Execution order: Kahn's algorithm, always taking the lowest-numbered ready op (graph order when valid). */
export function topologicalOrder(graph: Graph): number[] {
  const producer = new Map<number, number>();
  graph.ops.forEach((op, i) => {
    for (const t of op.outputs) {
      if (producer.has(t)) {
        throw new ModelFormatError(
          `Tensor ${t} '${graph.tensors[t].name}' is written by both ${opLabel(graph, graph.ops[producer.get(t)!], producer.get(t)!)} and ${opLabel(graph, op, i)}.`,
        );
      }
      if (graph.inputs.includes(t)) {
        throw new ModelFormatError(`${opLabel(graph, op, i)} writes tensor ${t} '${graph.tensors[t].name}', which is a graph input.`);
      }
      producer.set(t, i);
    }
  });
  const isInput = new Set(graph.inputs);
  const pending = new Array<number>(graph.ops.length).fill(0);
  const consumers = new Map<number, number[]>();
  graph.ops.forEach((op, i) => {
    const deps = new Set<number>();
    for (const t of op.inputs) {
      if (t < 0) continue;
      const p = producer.get(t);
      if (p !== undefined) {
        deps.add(p);
        continue;
      }
      if (!isInput.has(t) && !graph.tensors[t].data) {
        throw new ModelFormatError(
          `${opLabel(graph, op, i)} reads tensor ${t} '${graph.tensors[t].name}', which is neither a graph input, a constant, nor written by any op.`,
        );
      }
    }
    pending[i] = deps.size;
    for (const d of deps) {
      const list = consumers.get(d) ?? [];
      list.push(i);
      consumers.set(d, list);
    }
  });
  const ready: number[] = [];
  pending.forEach((p, i) => p === 0 && ready.push(i));
  const order: number[] = [];
  while (ready.length > 0) {
    // lowest index first keeps the file's order when it is already topological
    let best = 0;
    for (let k = 1; k < ready.length; k++) if (ready[k] < ready[best]) best = k;
    const i = ready.splice(best, 1)[0];
    order.push(i);
    for (const c of consumers.get(i) ?? []) if (--pending[c] === 0) ready.push(c);
  }
  if (order.length !== graph.ops.length) {
    const stuck = graph.ops.findIndex((_, i) => !order.includes(i));
    throw new ModelFormatError(`The graph '${graph.name}' has a cycle through ${opLabel(graph, graph.ops[stuck], stuck)}.`);
  }
  return order;
}

export class Interpreter {
  readonly graph: Graph;
  /** Bytes of the activation arena (the memory plan's peak), allocated once. */
  readonly peakActivationBytes: number;
  readonly memoryPlan: MemoryPlan;
  /** The ops run per inference, in order (constant-folded ops are not listed). */
  readonly steps: readonly ExecutionStep[];
  /** Ops evaluated once at prepare time because all their inputs were constant. */
  readonly foldedOps: readonly number[];
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** The integer rounding behaviour this plan reproduces. */
  readonly rounding: RoundingMode;
  /** The int8 engine some ops run on (null: every op runs its TypeScript kernel). */
  readonly int8Engine: Int8Engine | null;

  private readonly arenaByteLength: number;
  private readonly shapes: number[][];
  private readonly data: (TensorData | undefined)[];
  private readonly bound: BoundStep[];
  private readonly profile: boolean;
  private readonly preserve: boolean;

  private constructor(graph: Graph, options: InterpreterOptions) {
    this.graph = graph;
    this.profile = options.profile ?? false;
    this.preserve = options.preserveIntermediates ?? false;
    this.rounding = options.rounding ?? 'double-rounding';
    checkIndices(graph);
    const kernels = selectKernels(graph, options.kernels ?? ALL_KERNELS);
    if ((options.lintQuantization ?? true) && isQuantizedGraph(graph)) assertQuantizationValid(graph);
    const order = topologicalOrder(graph);
    const backend = options.int8Backend ?? 'auto';
    if (backend !== 'auto' && backend !== 'wasm' && backend !== 'typescript') {
      throw new UserError('bad-input', `The int8 backend '${String(backend)}' is not one of auto, wasm, typescript.`);
    }
    if (backend === 'wasm' && !hasWasmSimd128()) {
      throw new UnsupportedError("This runtime does not support WebAssembly SIMD128, which the int8 engine needs; use int8Backend 'auto' or 'typescript'.");
    }
    let engine: Int8Engine | null = null;
    const int8Engine =
      backend === 'typescript' || (backend === 'auto' && !hasWasmSimd128())
        ? () => null
        : () => (engine ??= createInt8Engine({ backend: 'wasm-simd128' }));

    const tensors = graph.tensors;
    const shapes: number[][] = tensors.map((t) => [...t.shape]);
    const data: (TensorData | undefined)[] = tensors.map((t) => t.data);

    // Graph inputs: declared shapes, fixed by the caller where asked.
    let resized = false;
    graph.inputs.forEach((t, k) => {
      const declared = tensors[t].shape;
      const given = options.inputShapes?.[k];
      if (given) {
        if (given.length !== declared.length || given.some((d) => !Number.isInteger(d) || d < 0)) {
          throw new UserError('bad-input', `Input ${k} '${tensors[t].name}' has shape ${shapeToString(declared)}; the shape ${shapeToString(given)} given for it does not fit.`);
        }
        if (given.some((d, i) => declared[i] !== -1 && declared[i] !== d)) resized = true;
        shapes[t] = [...given];
      }
      if (shapes[t].some((d) => d < 0)) {
        throw new UnsupportedError(
          `Input ${k} '${tensors[t].name}' has shape ${shapeToString(shapes[t])} with unknown dimensions; pass its static shape in inputShapes.`,
        );
      }
    });
    tensors.forEach((t, i) => {
      if (!t.data) return;
      if (t.shape.some((d) => d < 0) || numElements(t.shape) !== t.data.length) {
        throw new ModelFormatError(
          `Constant tensor ${i} '${t.name}' has shape ${shapeToString(t.shape)} but holds ${t.data.length} values.`,
        );
      }
      if (!dataMatchesDtype(t.data, t.dtype)) {
        throw new ModelFormatError(`Constant tensor ${i} '${t.name}' is declared ${t.dtype} but holds a ${describeData(t.data)}.`);
      }
    });

    const prepared = (i: number): PreparedTensor => ({
      index: i,
      name: tensors[i].name,
      dtype: tensors[i].dtype,
      shape: shapes[i],
      quant: tensors[i].quant,
      data: data[i],
    });

    const fold = options.foldConstants ?? true;
    const folded: number[] = [];
    const runSteps: { opIndex: number; kernel: AnyKernelConfig; state: unknown }[] = [];
    for (const i of order) {
      const op = graph.ops[i];
      const kernel = kernels[i];
      const label = opLabel(graph, op, i);
      const inputs = op.inputs.map((t) => (t < 0 ? null : prepared(t)));
      const outputs = op.outputs.map((t) => prepared(t));
      const ctx: PrepareContext<KernelOpType> = { op: op as PrepareContext['op'], opIndex: i, label, inputs, outputs, rounding: this.rounding, int8Engine };
      let outputShapes: number[][];
      let state: unknown;
      if (kernel.prepare) {
        const r = kernel.prepare(ctx);
        outputShapes = r.outputShapes;
        state = r.state;
      } else {
        if (!inputs[0]) throw new ModelFormatError(`${label} is missing its data input.`);
        outputShapes = [[...inputs[0].shape]];
        state = undefined;
      }
      if (outputShapes.length !== op.outputs.length) {
        throw new ModelFormatError(`${label} has ${op.outputs.length} outputs; its kernel produces ${outputShapes.length}.`);
      }
      op.outputs.forEach((t, k) => {
        const declared = tensors[t].shape;
        const got = outputShapes[k];
        const mismatch = declared.length !== got.length || declared.some((d, j) => d !== -1 && d !== got[j]);
        if (mismatch && !resized) {
          throw new ModelFormatError(
            `${label} computes shape ${shapeToString(got)} for tensor ${t} '${tensors[t].name}', but the model declares ${shapeToString(declared)}.`,
          );
        }
        shapes[t] = [...got];
      });
      const allConstant = op.inputs.some((t) => t >= 0) && op.inputs.every((t) => t < 0 || data[t] !== undefined);
      if (fold && allConstant) {
        const outs = op.outputs.map((t) => {
          const d = allocTyped(tensors[t].dtype, numElements(shapes[t]));
          data[t] = d;
          return d;
        });
        const runCtx: RunContext = {
          op: op as RunContext['op'],
          inputs: op.inputs.map((t) => (t < 0 ? null : ({ ...prepared(t), data: data[t]! } as BoundTensor))),
          outputs: op.outputs.map((t, k) => ({ ...prepared(t), data: outs[k] })),
        };
        kernel.run(runCtx, state);
        folded.push(i);
      } else {
        runSteps.push({ opIndex: i, kernel, state });
      }
    }

    // Memory plan over the activations: graph inputs and outputs of the ops run per inference.
    const planned = new Set<number>();
    for (const t of graph.inputs) planned.add(t);
    for (const s of runSteps) for (const t of graph.ops[s.opIndex].outputs) planned.add(t);
    const planSteps: PlanStep[] = runSteps.map((s) => {
      const op = graph.ops[s.opIndex];
      return {
        inputs: op.inputs.filter((t) => t >= 0 && planned.has(t)),
        outputs: op.outputs,
        inPlace: s.kernel.inPlace === true && op.inputs[0] >= 0 && planned.has(op.inputs[0]),
      };
    });
    const plan = planMemory({
      tensors: [...planned].map((t) => ({ index: t, sizeBytes: numElements(shapes[t]) * dtypeSizeBytes(tensors[t].dtype) })),
      steps: planSteps,
      graphInputs: graph.inputs,
      graphOutputs: graph.outputs.filter((t) => planned.has(t)),
      preserveAll: this.preserve,
    });
    for (const t of graph.outputs) {
      if (!planned.has(t) && data[t] === undefined) {
        throw new ModelFormatError(`Graph output ${t} '${tensors[t].name}' is neither written by any op, a graph input nor a constant.`);
      }
    }
    // With an engine, the arena lives in its heap, allocated after every prepare (no growth later).
    const heap = engine as Int8Engine | null;
    const arenaBase = heap ? heap.alloc(plan.peakActivationBytes) : 0;
    const arena = heap ? heap.buffer : new ArrayBuffer(plan.peakActivationBytes);
    for (const t of planned) data[t] = typedView(tensors[t].dtype, arena, arenaBase + plan.offsets.get(t)!, numElements(shapes[t]));

    const bound = (t: number): BoundTensor => ({ ...prepared(t), data: data[t]! });
    this.bound = runSteps.map((s) => {
      const op = graph.ops[s.opIndex];
      const info: ExecutionStep = {
        opIndex: s.opIndex,
        type: opTypeLabel(op),
        name: opName(graph, op, s.opIndex),
        flavour: s.kernel.flavour,
        inputs: [...op.inputs],
        outputs: [...op.outputs],
      };
      const ctx: RunContext = {
        op: op as RunContext['op'],
        inputs: op.inputs.map((t) => (t < 0 ? null : bound(t))),
        outputs: op.outputs.map((t) => bound(t)),
      };
      return { info, kernel: s.kernel, state: s.state, ctx };
    });

    this.arenaByteLength = plan.peakActivationBytes;
    this.int8Engine = heap;
    this.shapes = shapes;
    this.data = data;
    this.memoryPlan = plan;
    this.peakActivationBytes = plan.peakActivationBytes;
    this.steps = this.bound.map((b) => b.info);
    this.foldedOps = folded;
    const info = (t: number): TensorInfo => ({ index: t, name: tensors[t].name, dtype: tensors[t].dtype, shape: [...shapes[t]] });
    this.inputs = graph.inputs.map(info);
    this.outputs = graph.outputs.map(info);
  }

  /** Plans `graph` for execution. Throws UnsupportedError / ModelFormatError before anything runs. */
  static prepare(graph: Graph, options: InterpreterOptions = {}): Interpreter {
    return new Interpreter(graph, options);
  }

  /** Bytes actually allocated for activations (equals `peakActivationBytes`). */
  get arenaBytes(): number {
    return this.arenaByteLength;
  }

  /** Whether op `opIndex` runs on the int8 engine (its kernel prepared an engine plan). */
  usesInt8Engine(opIndex: number): boolean {
    const b = this.bound.find((s) => s.info.opIndex === opIndex);
    return b !== undefined && typeof b.state === 'object' && b.state !== null && (b.state as { wasm?: unknown }).wasm != null;
  }

  /**
   * The requantization every integer op of this plan really performs, read from the prepared
   * kernels: per op, the arithmetic (which rounding) and, per channel (or per multiplier for ops
   * with several, e.g. LEAKY_RELU's two slopes), M, its fixed-point M0 and shift, and the float32
   * scale XNNPACK uses.
   */
  requantization(): OpRequantization[] {
    const found: OpRequantization[] = [];
    const visit = (step: BoundStep, value: unknown, path: string, depth: number) => {
      if (isRequantizer(value)) {
        found.push({
          opIndex: step.info.opIndex,
          type: step.info.type,
          name: step.info.name,
          role: path,
          arithmetic: value.arithmetic,
          real: Array.from(value.real),
          m0: Array.from(value.m0),
          shift: Array.from(value.shift),
          xnnpackScale: Array.from(value.scale),
        });
        return;
      }
      if (depth >= 3 || typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return;
      for (const [k, v] of Object.entries(value)) visit(step, v, path ? `${path}.${k}` : k, depth + 1);
    };
    for (const b of this.bound) visit(b, b.state, '', 0);
    return found;
  }

  /** The static shape the plan resolved for tensor `index`. */
  tensorShape(index: number): number[] {
    return [...this.shapes[index]];
  }

  /**
   * A copy of tensor `index` as it stands after the last run. Activations other than graph
   * inputs/outputs are only guaranteed intact with `preserveIntermediates`.
   */
  readTensor(index: number): TensorData {
    const d = this.data[index];
    if (!d) throw new UserError('bad-input', `Tensor ${index} is not part of the graph '${this.graph.name}'.`);
    const keep = this.preserve || this.graph.inputs.includes(index) || this.graph.outputs.includes(index) || this.graph.tensors[index].data !== undefined || this.foldedOps.some((i) => this.graph.ops[i].outputs.includes(index));
    if (!keep) {
      throw new UserError(
        'bad-input',
        `Tensor ${index} '${this.graph.tensors[index].name}' shares memory with other activations; prepare with preserveIntermediates to read it.`,
      );
    }
    return d.slice();
  }

  run(inputs: readonly TensorData[]): RunResult {
    const g = this.graph;
    if (inputs.length !== g.inputs.length) {
      throw new UserError('bad-input', `The graph '${g.name}' takes ${g.inputs.length} inputs; ${inputs.length} were given.`);
    }
    for (let k = 0; k < inputs.length; k++) {
      const t = g.inputs[k];
      const tensor: Tensor = g.tensors[t];
      const given = inputs[k];
      const want = numElements(this.shapes[t]);
      if (!dataMatchesDtype(given, tensor.dtype) || given.length !== want) {
        throw new UserError(
          'bad-input',
          `Input ${k} '${tensor.name}' takes ${tensor.dtype} data of ${want} values (shape ${shapeToString(this.shapes[t])}); got a ${describeData(given)} of ${given.length}.`,
        );
      }
      (this.data[t] as Float32Array).set(given as Float32Array);
    }
    let timings: OpTiming[] | undefined;
    if (this.profile) {
      timings = [];
      for (const b of this.bound) {
        const t0 = performance.now();
        b.kernel.run(b.ctx, b.state);
        timings.push({ opIndex: b.info.opIndex, type: b.info.type, ms: performance.now() - t0 });
      }
    } else {
      for (const b of this.bound) b.kernel.run(b.ctx, b.state);
    }
    const outputs = g.outputs.map((t) => this.data[t]!.slice());
    return timings ? { outputs, timings } : { outputs };
  }
}
