/**
 * Fake quantization on TensorFlow.js: float → nearest point of the integer grid → float, with a
 * straight-through estimator (STE) for the gradient, as TensorFlow's FakeQuantWithMinMaxVars.
 *
 * Forward (activations, per tensor, asymmetric; weights, per channel, symmetric):
 *
 *   y = S · (clamp(round(x / S) + Z, qmin, qmax) − Z)
 *
 * with S and Z exactly the parameters the integer model will carry (`chooseParams` in
 * quant/params.ts: the range widened to hold 0, S = (max − min) / (qmax − qmin) in float32, the
 * zero point nudged to an integer, so 0 is exact). Written as y = S · round(clip(x, lo, hi) / S)
 * with lo = S(qmin − Z), hi = S(qmax − Z): the same numbers, one op fewer. round is half away
 * from zero, as TFLite's QUANTIZE.
 *
 * Backward: rounding has zero derivative almost everywhere; the STE passes dy through unchanged
 * where lo ≤ x ≤ hi and blocks it outside (the clipped values do not move with x).
 *
 * Learned ranges (`fakeQuantLearned`, LSQ, Esser et al. 2019, with a learned zero point as in
 * LSQ+): S = exp(logS) and a float zero point z (Z = clamp(round(z))) are trainable. Inside the
 * range ∂y/∂S = round(x/S) − x/S, below it qmin − Z, above it qmax − Z; ∂y/∂z (through the STE of
 * the zero point's rounding) is −S outside the range and 0 inside. Both are scaled by
 * g = 1/√(N·qmax) (N: elements per sample), LSQ's gradient scale.
 */
import * as tf from '@tensorflow/tfjs';
import type { IntegerGrid, ScaleZeroPoint } from '../quant/params';

/** round half away from zero: sign(x) · ⌊|x| + ½⌋. */
export function roundHalfAway(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.sign(x), tf.floor(tf.add(tf.abs(x), 0.5))));
}

/** The float interval a grid covers with these parameters: [S(qmin − Z), S(qmax − Z)] in float32. */
export function clipRange(p: ScaleZeroPoint, grid: IntegerGrid): [number, number] {
  return [Math.fround(p.scale * (grid.qmin - p.zeroPoint)), Math.fround(p.scale * (grid.qmax - p.zeroPoint))];
}

/** Per-tensor fake quantization with fixed parameters (activations: EMA or fixed ranges). */
export function fakeQuant(x: tf.Tensor, p: ScaleZeroPoint, grid: IntegerGrid): tf.Tensor {
  const [lo, hi] = clipRange(p, grid);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [t, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([t]);
    const value = tf.mul(roundHalfAway(tf.div(tf.clipByValue(t, lo, hi), p.scale)), p.scale);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [xs] = saved;
        const inside = tf.cast(tf.logicalAnd(tf.greaterEqual(xs, lo), tf.lessEqual(xs, hi)), 'float32');
        return [tf.mul(dy, inside)];
      },
    };
  });
  return op(x);
}

/**
 * Symmetric per-channel fake quantization of weights kept with the output channel as the LAST
 * axis (the layout QatNetwork stores them in), or per tensor: S_c = max|w_c| / qmax (1 when the
 * channel is all zeros, as chooseParams), q = clamp(round(w / S_c), −qmax, qmax). The range is
 * the weights' own, so nothing is clipped and the STE is the identity.
 */
export function fakeQuantWeights(w: tf.Tensor, perChannel: boolean, qmax = 127): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    const value = tf.tidy(() => {
      const axes = perChannel ? [...Array(t.rank - 1).keys()] : [...Array(t.rank).keys()];
      const absMax = tf.max(tf.abs(t), axes);
      // Math.fround(absMax / qmax) in float32 arithmetic: the division of two float32 values is correctly rounded.
      const scale = tf.where(tf.greater(absMax, 0), tf.div(absMax, qmax), tf.onesLike(absMax));
      return tf.mul(tf.clipByValue(roundHalfAway(tf.div(t, scale)), -qmax, qmax), scale);
    });
    return { value, gradFunc: (dy) => [dy] };
  });
  return op(w);
}

/** Trainable range of one activation group in LSQ mode. */
export interface LearnedRange {
  logScale: tf.Variable;
  /** Float zero point; the grid uses clamp(round(z)). */
  zeroPoint: tf.Variable;
}

/**
 * LSQ fake quantization (see the header). `perSample` is N in the gradient scale g = 1/√(N·qmax).
 */
export function fakeQuantLearned(x: tf.Tensor, range: LearnedRange, grid: IntegerGrid, perSample: number): tf.Tensor {
  const g = 1 / Math.sqrt(Math.max(1, perSample) * grid.qmax);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [t, logScale, zeroPoint, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const s = tf.exp(logScale);
    const z = tf.clipByValue(roundHalfAway(zeroPoint), grid.qmin, grid.qmax);
    const v = tf.div(t, s);
    const lowQ = tf.sub(grid.qmin, z);
    const highQ = tf.sub(grid.qmax, z);
    const r = roundHalfAway(tf.minimum(tf.maximum(v, lowQ), highQ));
    const value = tf.mul(r, s);
    save([v, s, lowQ, highQ, r]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [vs, ss, lq, hq, rs] = saved;
        // Float masks and broadcasting scalars (no broadcastTo: Tile runs in JavaScript on wasm).
        const below = tf.cast(tf.less(vs, lq), 'float32');
        const above = tf.cast(tf.greater(vs, hq), 'float32');
        const outside = tf.add(below, above);
        const inside = tf.sub(1, outside);
        const dx = tf.mul(dy, inside);
        // ∂y/∂S: round(v) − v inside, qmin − Z below, qmax − Z above; ∂S/∂logS = S.
        const dS = tf.add(tf.mul(inside, tf.sub(rs, vs)), tf.add(tf.mul(below, lq), tf.mul(above, hq)));
        const dLogScale = tf.mul(tf.sum(tf.mul(dy, dS)), tf.mul(ss, g));
        const dZero = tf.mul(tf.sum(tf.mul(dy, outside)), tf.mul(ss, -g));
        return [dx, dLogScale, dZero];
      },
    };
  });
  return op(x, range.logScale, range.zeroPoint);
}

/** The parameters a learned range stands for right now (what export writes). */
export function learnedParams(range: LearnedRange, grid: IntegerGrid): ScaleZeroPoint {
  const s = Math.fround(Math.exp(range.logScale.dataSync()[0]));
  const zRaw = range.zeroPoint.dataSync()[0];
  const z = Math.min(grid.qmax, Math.max(grid.qmin, zRaw >= 0 ? Math.floor(zRaw + 0.5) : -Math.floor(-zRaw + 0.5)));
  return { scale: s, zeroPoint: z };
}
