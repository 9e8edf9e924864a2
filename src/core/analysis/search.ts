/**
 * Mixed-precision search: the cheapest set of layers to keep float so that the quantized model
 * stays within an accuracy budget of the float model.
 *
 * Target: with labelled data, accuracy ≥ float accuracy − `budgetPoints`; without labels, output
 * SQNR ≥ `minSqnrDb`. Cost of a variant: `size` (bytes of the .tflite it writes) or `latency`
 * (desktop latency estimated from MACs, QuantStudy.estimateLatencyMs).
 *
 * Greedy from the sensitivity ranking, every step one evaluation (cached variants are free):
 *  1. the float model and the full integer model (2); if the integer model meets the target, done;
 *  2. "only L float" for every candidate layer (N): if some single layer meets the target, the
 *     cheapest such layer is the answer;
 *  3. otherwise add layers in order of recovery per unit of extra cost (layers that recover
 *     nothing last), evaluating after each, until the target is met (≤ N − 1 new evaluations:
 *     the first step is a single-layer variant already measured);
 *  4. prune: try dropping each kept layer but the last added, most expensive first, keeping every
 *     drop that still meets the target (≤ kept − 1 evaluations).
 * So at most 2 + N + (N − 1) + (N − 1) = 3N evaluations, and in practice far fewer. Int16
 * activations per layer are not searched (the runtime has 16×8 kernels, but mixing int8 and int16
 * activations needs requantize steps PTQ does not insert yet).
 */
import { UserError } from '../errors';
import type { Model } from '../ir/types';
import type { Evaluation, QuantStudy, StudyLayer } from './sensitivity';

export type SearchCost = 'size' | 'latency';

export interface SearchOptions {
  /** Accuracy points below float allowed (labelled data). */
  budgetPoints?: number;
  /** Minimum output SQNR in dB (unlabelled data). */
  minSqnrDb?: number;
  cost?: SearchCost;
}

export interface SearchStep {
  action: 'baseline' | 'single' | 'add' | 'prune' | 'keep';
  layer?: string;
  keepFloat: string[];
  score: number;
  cost: number;
  meets: boolean;
  /** The study's evaluation counter after this step. */
  evaluations: number;
}

export interface SearchResult {
  met: boolean;
  target: { kind: 'accuracy'; floatAccuracyPct: number; minAccuracyPct: number; budgetPoints: number } | { kind: 'output-sqnr'; minSqnrDb: number };
  cost: SearchCost;
  /** Layers kept float in the answer (names), graph order. */
  keepFloat: string[];
  best: Evaluation;
  float: Evaluation;
  quantized: Evaluation;
  /** Distinct variants evaluated, the float model included. */
  evaluations: number;
  layers: number;
  steps: SearchStep[];
  model: Model;
}

export async function searchMixedPrecision(study: QuantStudy, options: SearchOptions): Promise<SearchResult> {
  const costKind = options.cost ?? 'size';
  const costOf = (e: Evaluation): number => (costKind === 'size' ? e.sizeBytes : e.estLatencyMs);
  let target: SearchResult['target'];
  let meets: (e: Evaluation) => boolean;
  if (study.labelled) {
    if (options.budgetPoints === undefined || !(options.budgetPoints >= 0)) throw new UserError('bad-input', `The search needs an accuracy budget in points (≥ 0), e.g. --budget 0.3; got ${options.budgetPoints}.`);
    const floatAcc = study.float.accuracyPct as number;
    const minAcc = floatAcc - options.budgetPoints;
    target = { kind: 'accuracy', floatAccuracyPct: floatAcc, minAccuracyPct: minAcc, budgetPoints: options.budgetPoints };
    // A hair of tolerance: accuracies are multiples of 100/n computed in floating point.
    meets = (e) => (e.accuracyPct as number) >= minAcc - 1e-9;
  } else {
    if (options.minSqnrDb === undefined) throw new UserError('bad-input', 'The evaluation data has no labels: give the target as a minimum output SQNR (--min-sqnr DB) instead of an accuracy budget.');
    const min = options.minSqnrDb;
    target = { kind: 'output-sqnr', minSqnrDb: min };
    meets = (e) => e.outputSqnrDb >= min;
  }
  const steps: SearchStep[] = [];
  const record = (action: SearchStep['action'], e: Evaluation, layer?: string) => {
    steps.push({ action, ...(layer ? { layer } : {}), keepFloat: e.keepFloat, score: e.score, cost: costOf(e), meets: meets(e), evaluations: study.evaluations });
  };
  const order = new Map(study.layers.map((l, i) => [l.name, i]));
  const byGraphOrder = (names: readonly string[]) => [...names].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  const finish = async (best: Evaluation, met: boolean): Promise<SearchResult> => ({
    met,
    target,
    cost: costKind,
    keepFloat: byGraphOrder(best.keepFloat),
    best,
    float: study.float,
    quantized: study.quantized,
    evaluations: study.evaluations,
    layers: study.layers.length,
    steps,
    model: await study.modelOf(best.keepFloat),
  });

  record('baseline', study.quantized);
  if (meets(study.quantized)) return finish(study.quantized, true);

  // 2. Single layers kept float.
  const singles: { layer: StudyLayer; e: Evaluation }[] = [];
  for (const layer of study.layers) {
    const e = await study.evaluate([layer.name]);
    singles.push({ layer, e });
    record('single', e, layer.name);
  }
  const fitting = singles.filter((s) => meets(s.e)).sort((a, b) => costOf(a.e) - costOf(b.e) || b.e.score - a.e.score);
  if (fitting.length > 0) return finish(fitting[0].e, true);

  // 3. Greedy additions by recovery per extra cost.
  const base = costOf(study.quantized);
  const q = study.quantized.score;
  const efficiency = (s: { e: Evaluation }) => (s.e.score - q) / Math.max(1e-9, costOf(s.e) - base);
  const ranked = [...singles].sort((a, b) => {
    const ga = a.e.score - q;
    const gb = b.e.score - q;
    if (ga > 0 !== gb > 0) return ga > 0 ? -1 : 1;
    return ga > 0 ? efficiency(b) - efficiency(a) : gb - ga;
  });
  const kept: string[] = [];
  let current: Evaluation | null = null;
  for (const s of ranked) {
    kept.push(s.layer.name);
    current = await study.evaluate(kept);
    record('add', current, s.layer.name);
    if (meets(current)) break;
  }
  if (!current || !meets(current)) {
    // Even every candidate float misses the target (value-moving ops stay integer): report the best seen.
    return finish(current ?? study.quantized, false);
  }

  // 4. Prune layers the later additions made unnecessary.
  const single = new Map(singles.map((s) => [s.layer.name, costOf(s.e)]));
  const candidates = kept.slice(0, -1).sort((a, b) => (single.get(b) ?? 0) - (single.get(a) ?? 0));
  let set = [...kept];
  for (const name of candidates) {
    if (set.length <= 1) break;
    const trial = set.filter((n) => n !== name);
    const e = await study.evaluate(trial);
    record('prune', e, name);
    if (meets(e) && costOf(e) <= costOf(current)) {
      set = trial;
      current = e;
    }
  }
  return finish(current, true);
}
