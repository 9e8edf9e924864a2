/**
 * Fashion-MNIST from Debian's dataset-fashion-mnist files (skipped when not installed). The
 * reader's results are checked against a minimal independent parse (gunzip, fixed offsets 16 and
 * 8 from the format description) and against published facts: 60,000 / 10,000 images, 6,000 /
 * 1,000 per class, labels of the first training images 9 0 0 3 0 2 7 2 5 5 (the dataset README's
 * sprite starts with an ankle boot, then T-shirts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openDataset } from '../../../src/core/data/dataset';
import { FASHION_MNIST_DEBIAN_DIR, findFashionMnistFiles, loadFashionMnist } from '../../../src/core/data/fashion-mnist';
import { readIdxPair } from '../../../src/core/data/idx';

const installed = fs.existsSync(path.join(FASHION_MNIST_DEBIAN_DIR, 't10k-labels-idx1-ubyte.gz'));

function raw(name: string): Buffer {
  return gunzipSync(fs.readFileSync(path.join(FASHION_MNIST_DEBIAN_DIR, name)));
}

describe.skipIf(!installed)("Fashion-MNIST (Debian's files)", () => {
  it('reads 60,000 training and 10,000 test images with the labels and pixels of an independent parse', () => {
    for (const [split, prefix, n] of [['train', 'train', 60000], ['test', 't10k', 10000]] as const) {
      const d = loadFashionMnist(split, FASHION_MNIST_DEBIAN_DIR);
      expect(d).toMatchObject({ count: n, height: 28, width: 28 });
      const labels = raw(`${prefix}-labels-idx1-ubyte.gz`);
      const images = raw(`${prefix}-images-idx3-ubyte.gz`);
      expect(labels.readUInt32BE(4)).toBe(n);
      expect([...d.labels.subarray(0, 100)]).toEqual([...labels.subarray(8, 108)]);
      expect(d.labels[n - 1]).toBe(labels[8 + n - 1]);
      expect(Buffer.from(d.pixels.subarray(0, 784 * 3)).equals(images.subarray(16, 16 + 784 * 3))).toBe(true);
      expect(Buffer.from(d.pixels.subarray((n - 1) * 784)).equals(images.subarray(16 + (n - 1) * 784))).toBe(true);
      const perClass = new Array(10).fill(0);
      for (const l of d.labels) perClass[l]++;
      expect(perClass).toEqual(new Array(10).fill(n / 10));
    }
    expect([...loadFashionMnist('train').labels.subarray(0, 10)]).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  });

  it('opens fashion-mnist:test@50 as [28, 28, 1] floats x/255 with the class names', async () => {
    const ds = await openDataset('fashion-mnist:test@50');
    expect(ds).toMatchObject({ spec: 'fashion-mnist:test@50', count: 50, sampleShape: [28, 28, 1], preprocess: { scale: 1 / 255, channels: 'gray' } });
    expect(ds.classes![9]).toBe('Ankle boot');
    const images = raw('t10k-images-idx3-ubyte.gz');
    const out = new Float32Array(784);
    ds.sample(7, out);
    for (let k = 0; k < 784; k++) expect(out[k]).toBe(Math.fround(images[16 + 7 * 784 + k] * (1 / 255)));
    expect(ds.description).toContain('Fashion-MNIST');
    // The same files through the generic idx: spec.
    const viaIdx = await openDataset(`idx:${path.join(FASHION_MNIST_DEBIAN_DIR, 't10k-images-idx3-ubyte.gz')},${path.join(FASHION_MNIST_DEBIAN_DIR, 't10k-labels-idx1-ubyte.gz')}@50`);
    expect([...viaIdx.labels!]).toEqual([...raw('t10k-labels-idx1-ubyte.gz').subarray(8, 58)]);
    expect(viaIdx.hash()).toBe((await openDataset('fashion-mnist:test@50')).hash());
  });

  it('reads a folder given by option or $QUANTLAB_FASHION_MNIST, gzipped or not', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-fashion-'));
    try {
      fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), raw('t10k-images-idx3-ubyte.gz'));
      fs.copyFileSync(path.join(FASHION_MNIST_DEBIAN_DIR, 't10k-labels-idx1-ubyte.gz'), path.join(dir, 't10k-labels-idx1-ubyte.gz'));
      const files = findFashionMnistFiles('test', undefined, { QUANTLAB_FASHION_MNIST: dir });
      expect(files.images).toBe(path.join(dir, 't10k-images-idx3-ubyte'));
      expect(readIdxPair(files.images, files.labels).count).toBe(10000);
      expect(() => findFashionMnistFiles('train', dir)).toThrow(/train-images-idx3-ubyte\[\.gz\]' does not exist.*apt-get install dataset-fashion-mnist/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Fashion-MNIST missing', () => {
  it('says how to install it or where to point', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-nofashion-'));
    try {
      await expect(openDataset('fashion-mnist:test', { fashionMnistDir: empty })).rejects.toThrow(/apt-get install dataset-fashion-mnist.*QUANTLAB_FASHION_MNIST/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
