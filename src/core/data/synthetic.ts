/**
 * Synthetic images for calibrating models that have no labelled data here (face detectors,
 * segmenters): smooth colour fields made of a few random low-frequency cosine waves plus a little
 * pixel noise, scaled into the model's input range. Closer to natural images than uniform noise
 * (neighbouring pixels correlate, channels correlate), so activations take realistic ranges.
 * Deterministic: sample i of a seed is the same on every machine.
 */
import { seededUniform } from '../random';

export interface SyntheticImageOptions {
  /** [H, W, C] of one sample. */
  shape: readonly [number, number, number];
  /** Value range of the model input (e.g. [-1, 1] or [0, 1]). */
  range: readonly [number, number];
  seed?: number;
}

export function syntheticImage(i: number, options: SyntheticImageOptions, out: Float32Array): void {
  const [H, W, C] = options.shape;
  const [lo, hi] = options.range;
  const r = seededUniform(((options.seed ?? 0) * 1_000_003 + i * 7919 + 1) >>> 0);
  const waves = Array.from({ length: 6 }, () => ({ fx: r() * 4, fy: r() * 4, phase: r() * 2 * Math.PI, amp: r(), colour: Array.from({ length: C }, () => r()) }));
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < C; c++) {
        let v = 0;
        for (const w of waves) v += w.amp * w.colour[c] * Math.cos(2 * Math.PI * ((w.fx * x) / W + (w.fy * y) / H) + w.phase);
        // v/2 + noise lies in about [-1, 1]; map that to the input range.
        const unit = Math.max(-1, Math.min(1, v / 2 + (r() - 0.5) * 0.1));
        out[(y * W + x) * C + c] = lo + ((unit + 1) / 2) * (hi - lo);
      }
    }
  }
}
