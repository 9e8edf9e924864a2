/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 60,000 training and 10,000 test 28×28 grey
 * images of clothing in 10 classes, in MNIST's IDX format. QuantLab downloads nothing: it reads
 * the files Debian's `dataset-fashion-mnist` package installs in /usr/share/datasets/fashion-mnist,
 * or a folder the user gives (option, then `$QUANTLAB_FASHION_MNIST`), holding
 * `{train,t10k}-{images-idx3,labels-idx1}-ubyte` (gzipped `.gz` or not).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors';
import { readIdxPair, type IdxPair } from './idx';

export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_ENV = 'QUANTLAB_FASHION_MNIST';

/** Class names in label order (from the dataset's README). */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export type FashionSplit = 'train' | 'test';

export interface FashionMnistFiles {
  dir: string;
  images: string;
  labels: string;
}

/** The folder used: explicit option, else $QUANTLAB_FASHION_MNIST, else Debian's. */
export function fashionMnistDir(explicitDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicitDir ?? (env[FASHION_MNIST_ENV] || FASHION_MNIST_DEBIAN_DIR);
}

/** Finds the split's two files (gzipped preferred, plain accepted) or says how to get them. */
export function findFashionMnistFiles(split: FashionSplit, explicitDir?: string, env: NodeJS.ProcessEnv = process.env): FashionMnistFiles {
  const dir = fashionMnistDir(explicitDir, env);
  const prefix = split === 'train' ? 'train' : 't10k';
  const find = (stem: string): string | null => {
    for (const name of [`${stem}.gz`, stem]) {
      const p = path.join(dir, name);
      if (fs.existsSync(p)) return p;
    }
    return null;
  };
  const images = find(`${prefix}-images-idx3-ubyte`);
  const labels = find(`${prefix}-labels-idx1-ubyte`);
  if (!images || !labels) {
    const missing = !images ? `${prefix}-images-idx3-ubyte[.gz]` : `${prefix}-labels-idx1-ubyte[.gz]`;
    const where = explicitDir ? 'the folder given' : env[FASHION_MNIST_ENV] ? `$${FASHION_MNIST_ENV}` : "Debian's default location";
    throw new UserError(
      'bad-input',
      `Fashion-MNIST ${split} data not found: '${path.join(dir, missing)}' does not exist (${where}). Install it with 'apt-get install dataset-fashion-mnist', or point $${FASHION_MNIST_ENV} (or the dataset folder option) at a folder holding the four *-ubyte[.gz] files.`,
    );
  }
  return { dir, images, labels };
}

const cache = new Map<string, IdxPair>();

/** Loads (once per file pair) a Fashion-MNIST split. */
export function loadFashionMnist(split: FashionSplit, explicitDir?: string, env: NodeJS.ProcessEnv = process.env): IdxPair & { files: FashionMnistFiles } {
  const files = findFashionMnistFiles(split, explicitDir, env);
  const key = `${files.images}\n${files.labels}`;
  let pair = cache.get(key);
  if (!pair) {
    pair = readIdxPair(files.images, files.labels);
    const bad = pair.labels.findIndex((l) => l > 9);
    if (bad >= 0) throw new UserError('bad-input', `'${files.labels}' gives label ${pair.labels[bad]} to sample ${bad}; Fashion-MNIST labels are 0..9.`);
    cache.set(key, pair);
  }
  return { ...pair, files };
}
