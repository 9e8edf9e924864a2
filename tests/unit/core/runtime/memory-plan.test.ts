import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../../src/core/ir/types';
import { Interpreter } from '../../../../src/core/runtime/interpreter';
import type { MemoryPlan, MemoryPlanRequest, PlanStep } from '../../../../src/core/runtime/memory-plan';
import { planMemory } from '../../../../src/core/runtime/memory-plan';
import { randInt, rng } from './reference';

/** Independent lifetime computation from the request (no aliasing): [first write, last read]. */
function liveRanges(req: MemoryPlanRequest): Map<number, [number, number]> {
  const m = new Map<number, [number, number]>();
  const planned = new Set(req.tensors.map((t) => t.index));
  const touch = (t: number, s: number) => {
    if (!planned.has(t)) return;
    const r = m.get(t);
    if (!r) m.set(t, [s, s]);
    else m.set(t, [Math.min(r[0], s), Math.max(r[1], s)]);
  };
  req.graphInputs.forEach((t) => touch(t, -1));
  req.steps.forEach((st, s) => [...st.inputs, ...st.outputs].forEach((t) => touch(t, s)));
  req.graphOutputs.forEach((t) => touch(t, req.steps.length));
  return m;
}

function checkNoOverlap(req: MemoryPlanRequest, plan: MemoryPlan): void {
  const live = liveRanges(req);
  const items = req.tensors.filter((t) => t.sizeBytes > 0);
  let maxEnd = 0;
  for (const t of items) {
    const off = plan.offsets.get(t.index)!;
    expect(off % plan.alignmentBytes).toBe(0);
    maxEnd = Math.max(maxEnd, off + t.sizeBytes);
  }
  expect(plan.peakActivationBytes).toBe(maxEnd);
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i];
      const b = items[j];
      const ra = live.get(a.index)!;
      const rb = live.get(b.index)!;
      const liveTogether = ra[0] <= rb[1] && rb[0] <= ra[1];
      if (!liveTogether) continue;
      const sameBuffer = (plan.aliases.get(a.index) ?? a.index) === (plan.aliases.get(b.index) ?? b.index);
      if (sameBuffer) continue; // an in-place pair shares its bytes on purpose
      const oa = plan.offsets.get(a.index)!;
      const ob = plan.offsets.get(b.index)!;
      const overlap = oa < ob + b.sizeBytes && ob < oa + a.sizeBytes;
      expect(overlap, `tensors ${a.index} and ${b.index} are live together and overlap`).toBe(false);
    }
  }
}

/** A random DAG: each step reads 1–3 earlier tensors and writes 1–2 new ones. */
function randomRequest(seed: number): MemoryPlanRequest {
  const r = rng(seed);
  const tensors = [{ index: 0, sizeBytes: randInt(r, 1, 5000) }];
  const steps: PlanStep[] = [];
  const nSteps = randInt(r, 3, 40);
  for (let s = 0; s < nSteps; s++) {
    const inputs = new Set<number>();
    const k = randInt(r, 1, 3);
    for (let i = 0; i < k; i++) inputs.add(randInt(r, Math.max(0, tensors.length - 6), tensors.length - 1));
    const outputs: number[] = [];
    const nOut = randInt(r, 1, 2);
    const inPlace = r() < 0.2 && nOut === 1;
    for (let o = 0; o < nOut; o++) {
      const index = tensors.length;
      const first = [...inputs][0];
      tensors.push({ index, sizeBytes: inPlace ? tensors[first].sizeBytes : randInt(r, 0, 5000) });
      outputs.push(index);
    }
    steps.push({ inputs: [...inputs], outputs, inPlace });
  }
  return { tensors, steps, graphInputs: [0], graphOutputs: [tensors.length - 1] };
}

describe('memory plan', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`random DAG ${seed}: no two live tensors overlap, peak = highest end`, () => {
      const req = randomRequest(seed);
      const plan = planMemory(req);
      checkNoOverlap(req, plan);
      expect(plan.peakActivationBytes).toBeLessThanOrEqual(plan.naiveBytes + 64 * req.tensors.length);
    });
  }

  it('a chain reuses memory: peak is two tensors, not all of them', () => {
    const n = 10;
    const req: MemoryPlanRequest = {
      tensors: Array.from({ length: n + 1 }, (_, i) => ({ index: i, sizeBytes: 1024 })),
      steps: Array.from({ length: n }, (_, i) => ({ inputs: [i], outputs: [i + 1] })),
      graphInputs: [0],
      graphOutputs: [n],
    };
    const plan = planMemory(req);
    checkNoOverlap(req, plan);
    expect(plan.peakActivationBytes).toBe(2048);
    expect(plan.naiveBytes).toBe(1024 * (n + 1));
  });

  it('in-place steps alias output onto input; the shared buffer lives for the union', () => {
    // 0 -conv-> 1 -reshape-> 2 -conv-> 3, and 1 is also read by the last step
    const req: MemoryPlanRequest = {
      tensors: [0, 1, 2, 3].map((index) => ({ index, sizeBytes: 256 })),
      steps: [
        { inputs: [0], outputs: [1] },
        { inputs: [1], outputs: [2], inPlace: true },
        { inputs: [2, 1], outputs: [3] },
      ],
      graphInputs: [0],
      graphOutputs: [3],
    };
    const plan = planMemory(req);
    expect(plan.aliases.get(2)).toBe(1);
    expect(plan.offsets.get(2)).toBe(plan.offsets.get(1));
    expect(plan.lifetimes.get(2)).toEqual({ firstStep: 0, lastStep: 2 });
    checkNoOverlap(req, plan);
    // 0 can be reused by 3: peak = 0/3 slot + 1/2 slot
    expect(plan.peakActivationBytes).toBe(512);
  });

  it('preserveAll gives every tensor its own bytes', () => {
    const req = randomRequest(7);
    const plan = planMemory({ ...req, preserveAll: true });
    const ranges = req.tensors
      .filter((t) => t.sizeBytes > 0 && !plan.aliases.has(t.index))
      .map((t) => [plan.offsets.get(t.index)!, plan.offsets.get(t.index)! + t.sizeBytes])
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][1]);
  });

  it('the interpreter allocates exactly the planned peak and outputs survive reuse', () => {
    // x → RELU → a → RELU6 → b → RESHAPE → c → TANH → d ; output d and a
    const g: Graph = {
      name: 'chain',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [4, 8] },
        { name: 'a', dtype: 'float32', shape: [4, 8] },
        { name: 'b', dtype: 'float32', shape: [4, 8] },
        { name: 'c', dtype: 'float32', shape: [32] },
        { name: 'd', dtype: 'float32', shape: [32] },
      ],
      ops: [
        { type: 'RELU', options: {}, inputs: [0], outputs: [1] },
        { type: 'RELU6', options: {}, inputs: [1], outputs: [2] },
        { type: 'RESHAPE', options: { newShape: [32] }, inputs: [2], outputs: [3] },
        { type: 'TANH', options: {}, inputs: [3], outputs: [4] },
      ],
      inputs: [0],
      outputs: [4, 1],
    };
    const it = Interpreter.prepare(g);
    expect(it.arenaBytes).toBe(it.peakActivationBytes);
    expect(it.memoryPlan.aliases.get(3)).toBe(2);
    const x = Float32Array.from({ length: 32 }, (_, i) => i - 10);
    const { outputs } = it.run([x]);
    expect(Array.from(outputs[0] as Float32Array)).toEqual(Array.from(x, (v) => Math.fround(Math.tanh(Math.min(6, Math.max(0, v))))));
    expect(Array.from(outputs[1] as Float32Array)).toEqual(Array.from(x, (v) => Math.max(0, v)));
    // a (output, live to the end), x, b/c shared, d: x's slot is free again after step 0
    expect(it.peakActivationBytes).toBeLessThan(5 * 128);
  });
});
