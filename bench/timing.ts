/**
 * Timing for the benchmark: engines run in interleaved rounds (each round gives every engine
 * the same slice of time), so load from other processes hits all of them alike; figures are
 * medians over rounds, and ratios are taken inside each round before the median.
 * Wall time is the headline; CPU time of this process is kept beside it (less sensitive to
 * other processes stealing the core, but includes any helper threads).
 */

export interface Contender {
  name: string;
  /** One call; `units` images (or operations) per call. */
  run: () => void | Promise<void>;
  units: number;
}

export interface Figures {
  /** Units per second, median over rounds (wall clock). */
  perSecond: number;
  /** Units per second by this process's CPU time, median over rounds. */
  perCpuSecond: number;
  /** Per-round wall figures. */
  rounds: number[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export { median };

async function slice(c: Contender, ms: number): Promise<{ wall: number; cpu: number }> {
  let calls = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  // Check the clock every few calls; sync work is timed in batches to keep the clock cheap.
  while (t - t0 < ms) {
    const r = c.run();
    if (r) await r;
    calls++;
    t = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  const units = calls * c.units;
  return { wall: (units * 1000) / (t - t0), cpu: (units * 1e6) / (cpu.user + cpu.system) };
}

/** Warms every contender, then runs `rounds` interleaved rounds of `sliceMs` each. */
export async function compete(contenders: Contender[], opts: { rounds: number; sliceMs: number; warmupMs: number }): Promise<Map<string, Figures>> {
  for (const c of contenders) await slice(c, opts.warmupMs);
  const wall = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const cpu = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < opts.rounds; r++) {
    // rotate the order each round so no contender always runs first
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + r) % contenders.length];
      const s = await slice(c, opts.sliceMs);
      wall.get(c.name)!.push(s.wall);
      cpu.get(c.name)!.push(s.cpu);
    }
  }
  return new Map(contenders.map((c) => [c.name, { perSecond: median(wall.get(c.name)!), perCpuSecond: median(cpu.get(c.name)!), rounds: wall.get(c.name)! }]));
}

/** Median over rounds of a/b, pairing the same round's figures. */
export function roundRatio(a: Figures, b: Figures): number {
  return median(a.rounds.map((x, i) => x / b.rounds[i]));
}

/**
 * A duel for one ratio: `a` and `b` alternate short slices (the order flipping every pair), and
 * the figure is the median over pairs of a's rate ÷ b's. Two slices of 100 ms sit within a
 * fraction of a second of each other, so a change of machine speed (other tenants, frequency)
 * hits both sides of a pair alike; the ten-engine rounds of compete() span seconds.
 */
export async function duel(a: Contender, b: Contender, opts: { pairs: number; sliceMs: number; warmupMs: number }): Promise<{ ratio: number; ratios: number[] }> {
  await slice(a, opts.warmupMs);
  await slice(b, opts.warmupMs);
  const ratios: number[] = [];
  for (let i = 0; i < opts.pairs; i++) {
    const first = i % 2 === 0 ? a : b;
    const second = first === a ? b : a;
    const x = await slice(first, opts.sliceMs);
    const y = await slice(second, opts.sliceMs);
    ratios.push(first === a ? x.wall / y.wall : y.wall / x.wall);
  }
  return { ratio: median(ratios), ratios };
}
