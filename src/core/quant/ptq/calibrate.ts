/**
 * Calibration: run the float graph over the calibration samples and let one observer per
 * activation tensor watch every value it takes. The float runtime keeps every intermediate
 * (`preserveIntermediates`), so one run per sample feeds all observers.
 */
import { UserError } from '../../errors';
import type { Graph } from '../../ir/types';
import { Interpreter } from '../../runtime/interpreter';
import type { CalibrationMethod, Observer } from '../observers';
import { createObserver } from '../observers';
import type { IntegerGrid, QuantRange } from '../params';

/** Samples for calibration: `sample(i, out)` writes sample i (float32, one model input's worth). */
export interface CalibrationData {
  count: number;
  /** A name for messages, e.g. the dataset spec 'mnist:train@500'. */
  name: string;
  sample(i: number, out: Float32Array): void;
}

/** Progress report; may return a promise (a job yields there, so a cancel can arrive and be thrown). */
export type ProgressFn = (stage: string, done: number, total: number | null) => void | Promise<void>;

export interface CalibrationResult {
  /** Range chosen for each observed tensor index. */
  ranges: Map<number, QuantRange>;
  samples: number;
}

/**
 * Observes `tensors` (indices of float32 activations of `graph`, graph inputs included) over the
 * first `count` samples of `data`. `graph` must have a single input with a static shape.
 *
 * Clipping methods (percentile, KL, MSE) are for the network's interior: the tensors in `exact`
 * (PTQ passes the graph's inputs and outputs) keep their full observed range, because clipping
 * the data itself or the final scores loses information no later layer can recover (KL clips
 * MNIST pixels to a fraction of their range, and the top logits to a tie).
 */
export async function calibrate(
  graph: Graph,
  tensors: readonly number[],
  data: CalibrationData,
  count: number,
  method: CalibrationMethod,
  grid: IntegerGrid,
  progress?: ProgressFn,
  /** Tensors observed with min/max whatever `method` is (the graph's inputs and outputs). */
  exact: ReadonlySet<number> = new Set(),
): Promise<CalibrationResult> {
  const n = Math.min(count, data.count);
  if (n <= 0) throw new UserError('bad-input', `The calibration set '${data.name}' is empty.`);
  const interpreter = Interpreter.prepare(graph, { preserveIntermediates: true });
  const input = interpreter.inputs[0];
  const perSample = input.shape.reduce((a, b) => a * b, 1);
  const buffer = new Float32Array(perSample);
  const observers = new Map<number, Observer>();
  for (const t of tensors) observers.set(t, createObserver(exact.has(t) ? { kind: 'minmax' } : method, { grid }));
  const shapes = new Map<number, number[]>(tensors.map((t) => [t, interpreter.tensorShape(t)]));
  for (let i = 0; i < n; i++) {
    data.sample(i, buffer);
    for (let k = 0; k < perSample; k++) {
      if (!Number.isFinite(buffer[k])) {
        throw new UserError('bad-input', `Calibration set '${data.name}': sample ${i} has the value ${buffer[k]} at element ${k}; calibration data must be finite.`);
      }
    }
    interpreter.run([buffer]);
    for (const [t, observer] of observers) {
      const values = interpreter.readTensor(t) as Float32Array;
      try {
        observer.observe(values, shapes.get(t) ?? []);
      } catch (e) {
        if (e instanceof RangeError) {
          throw new UserError(
            'bad-input',
            `Calibration sample ${i} of '${data.name}' makes tensor '${graph.tensors[t].name}' non-finite (${e.message}); the float model overflows or holds NaN/Inf weights.`,
          );
        }
        throw e;
      }
    }
    if (progress && (i % 16 === 15 || i === n - 1)) await progress('calibrating', i + 1, n);
  }
  const ranges = new Map<number, QuantRange>();
  for (const [t, observer] of observers) {
    const r = observer.range();
    ranges.set(t, { min: r.min[0], max: r.max[0] });
  }
  return { ranges, samples: n };
}
