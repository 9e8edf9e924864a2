/**
 * Output fidelity of a model against a reference (a quantized model against its float source),
 * accumulated over any number of samples:
 *
 *   SQNR   = 10 · log10( Σ ref² / Σ (ref − x)² )  dB    (signal-to-quantization-noise ratio)
 *   cosine = Σ ref·x / ( √Σ ref² · √Σ x² )
 *   maxAbsError = max |ref − x|
 *
 * The sums run over every element of every sample (not a mean of per-sample ratios), in float64.
 * Edge cases: no error gives SQNR +Infinity; an all-zero reference with some error gives
 * −Infinity; cosine is 1 when both are all zero and 0 when only one is.
 */

export interface Fidelity {
  sqnrDb: number;
  cosine: number;
  maxAbsError: number;
  /** Elements compared. */
  elements: number;
}

export class FidelityAccumulator {
  private signal = 0; // Σ ref²
  private noise = 0; // Σ (ref − x)²
  private dot = 0; // Σ ref·x
  private norm = 0; // Σ x²
  private maxAbs = 0;
  private n = 0;

  /** Adds one sample's values (same length). */
  add(reference: ArrayLike<number>, values: ArrayLike<number>): void {
    if (reference.length !== values.length) {
      throw new RangeError(`Fidelity needs outputs of equal size; the reference has ${reference.length} values, the other ${values.length}.`);
    }
    for (let k = 0; k < reference.length; k++) {
      const r = reference[k];
      const x = values[k];
      const e = r - x;
      this.signal += r * r;
      this.noise += e * e;
      this.dot += r * x;
      this.norm += x * x;
      const a = Math.abs(e);
      if (a > this.maxAbs || Number.isNaN(a)) this.maxAbs = a;
    }
    this.n += reference.length;
  }

  result(): Fidelity {
    let sqnrDb: number;
    if (this.noise === 0) sqnrDb = Infinity;
    else if (this.signal === 0) sqnrDb = -Infinity;
    else sqnrDb = 10 * Math.log10(this.signal / this.noise);
    let cosine: number;
    if (this.signal === 0 && this.norm === 0) cosine = 1;
    else if (this.signal === 0 || this.norm === 0) cosine = 0;
    // Clamped: rounding can put identical vectors at 1.0000000000000002.
    else cosine = Math.min(1, Math.max(-1, this.dot / Math.sqrt(this.signal * this.norm)));
    return { sqnrDb, cosine, maxAbsError: this.maxAbs, elements: this.n };
  }
}

/** Fidelity of `values` against `reference` in one call. */
export function fidelity(reference: ArrayLike<number>, values: ArrayLike<number>): Fidelity {
  const acc = new FidelityAccumulator();
  acc.add(reference, values);
  return acc.result();
}
