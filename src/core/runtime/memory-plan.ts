/**
 * Activation memory plan: every non-constant tensor gets a byte offset in one arena.
 *
 * Lifetimes are measured in execution steps: a tensor is live from the step that writes it
 * (graph inputs: step −1, written before the first op) to the last step that reads it (graph
 * outputs: one past the last step, read after the run). Two tensors may share bytes only when
 * their lifetimes are disjoint; a step's inputs and outputs are live at the same step, so a
 * kernel never has its input overwritten under it.
 *
 * Offsets are assigned greedily, largest tensor first (TFLite's greedy-by-size strategy):
 * each tensor takes the lowest aligned offset that does not collide with an already placed
 * tensor whose lifetime overlaps. Steps marked `inPlace` (RESHAPE, SQUEEZE) let output 0
 * share input 0's bytes: the two become one buffer whose lifetime is the union. That is safe
 * because only a tensor's producer ever writes it.
 */

export interface PlanTensor {
  index: number;
  sizeBytes: number;
}

export interface PlanStep {
  /** Tensor indices read (only planned tensors matter; others are ignored). */
  inputs: readonly number[];
  outputs: readonly number[];
  /** Output 0 may alias input 0 (same byte size, data not moved). */
  inPlace?: boolean;
}

export interface MemoryPlanRequest {
  tensors: readonly PlanTensor[];
  steps: readonly PlanStep[];
  graphInputs: readonly number[];
  graphOutputs: readonly number[];
  /** Byte alignment of every offset (default 64, a cache line). */
  alignmentBytes?: number;
  /** Keep every tensor alive for the whole run (no reuse): lets callers read intermediates. */
  preserveAll?: boolean;
}

export interface Lifetime {
  firstStep: number;
  lastStep: number;
}

export interface MemoryPlan {
  /** Byte offset of each planned tensor. */
  offsets: Map<number, number>;
  sizes: Map<number, number>;
  /** Lifetime of each planned tensor (of its shared buffer when aliased). */
  lifetimes: Map<number, Lifetime>;
  /** Tensors that share another tensor's buffer: tensor → buffer owner. */
  aliases: Map<number, number>;
  /** Arena size: the highest offset + size over all buffers, i.e. the bytes to allocate. */
  peakActivationBytes: number;
  /** Σ of all buffer sizes: what a plan without reuse would need. */
  naiveBytes: number;
  alignmentBytes: number;
}

interface Buffer {
  owner: number;
  sizeBytes: number;
  firstStep: number;
  lastStep: number;
  offset: number;
}

function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

export function planMemory(req: MemoryPlanRequest): MemoryPlan {
  const alignment = req.alignmentBytes ?? 64;
  const sizeOf = new Map<number, number>();
  for (const t of req.tensors) sizeOf.set(t.index, t.sizeBytes);

  // Union-find over in-place steps.
  const parent = new Map<number, number>();
  const find = (i: number): number => {
    let r = i;
    while (parent.has(r)) r = parent.get(r)!;
    return r;
  };
  for (const step of req.steps) {
    if (!step.inPlace) continue;
    const src = step.inputs[0];
    const dst = step.outputs[0];
    if (src === undefined || dst === undefined || !sizeOf.has(src) || !sizeOf.has(dst)) continue;
    if (sizeOf.get(src) !== sizeOf.get(dst)) continue;
    const a = find(src);
    const b = find(dst);
    if (a !== b) parent.set(b, a);
  }

  // Lifetimes per buffer (a buffer is one tensor, or a group aliased by in-place steps).
  const buffers = new Map<number, Buffer>();
  for (const t of req.tensors) {
    const owner = find(t.index);
    if (!buffers.has(owner)) {
      buffers.set(owner, { owner, sizeBytes: sizeOf.get(owner)!, firstStep: Infinity, lastStep: -Infinity, offset: 0 });
    }
  }
  const touch = (tensor: number, step: number) => {
    if (!sizeOf.has(tensor)) return;
    const b = buffers.get(find(tensor))!;
    if (step < b.firstStep) b.firstStep = step;
    if (step > b.lastStep) b.lastStep = step;
  };
  for (const i of req.graphInputs) touch(i, -1);
  req.steps.forEach((step, s) => {
    for (const i of step.inputs) touch(i, s);
    for (const o of step.outputs) touch(o, s);
  });
  for (const o of req.graphOutputs) touch(o, req.steps.length);
  for (const b of buffers.values()) {
    if (b.firstStep === Infinity) {
      // planned but never touched by any step: give it the whole run
      b.firstStep = -1;
      b.lastStep = req.steps.length;
    }
    if (req.preserveAll) {
      b.firstStep = -1;
      b.lastStep = req.steps.length;
    }
  }

  // Greedy by size.
  const order = [...buffers.values()].sort(
    (a, b) => b.sizeBytes - a.sizeBytes || a.firstStep - b.firstStep || a.owner - b.owner,
  );
  const placed: Buffer[] = [];
  let peak = 0;
  let naive = 0;
  for (const buf of order) {
    naive += buf.sizeBytes;
    const conflicts = placed
      .filter((p) => p.firstStep <= buf.lastStep && buf.firstStep <= p.lastStep && p.sizeBytes > 0)
      .sort((a, b) => a.offset - b.offset);
    let offset = 0;
    if (buf.sizeBytes > 0) {
      for (const p of conflicts) {
        if (offset + buf.sizeBytes <= p.offset) break;
        offset = Math.max(offset, alignUp(p.offset + p.sizeBytes, alignment));
      }
    }
    buf.offset = offset;
    placed.push(buf);
    peak = Math.max(peak, offset + buf.sizeBytes);
  }

  const offsets = new Map<number, number>();
  const sizes = new Map<number, number>();
  const lifetimes = new Map<number, Lifetime>();
  const aliases = new Map<number, number>();
  for (const t of req.tensors) {
    const owner = find(t.index);
    const b = buffers.get(owner)!;
    offsets.set(t.index, b.offset);
    sizes.set(t.index, t.sizeBytes);
    lifetimes.set(t.index, { firstStep: b.firstStep, lastStep: b.lastStep });
    if (owner !== t.index) aliases.set(t.index, owner);
  }
  return { offsets, sizes, lifetimes, aliases, peakActivationBytes: peak, naiveBytes: naive, alignmentBytes: alignment };
}
