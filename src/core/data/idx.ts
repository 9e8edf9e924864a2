/**
 * IDX files, the format of MNIST, Fashion-MNIST, EMNIST and KMNIST (yann.lecun.com/exdb/mnist):
 *
 *   magic: 0x00 0x00 TYPE NDIMS     dims: NDIMS × uint32 big-endian     data: big-endian, row-major
 *
 * TYPE is 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. MNIST's
 * images are magic 0x00000803 (uint8, [count, rows, cols]) and its labels 0x00000801 (uint8,
 * [count]). Files are often distributed gzipped (`*-ubyte.gz`): a file that starts with the gzip
 * magic 1f 8b is inflated first. Every length is checked against the bytes before it is used;
 * errors are UserError('bad-input') sentences naming the file and the bad value.
 */
import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../errors';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  type: IdxType;
  shape: number[];
  /** Row-major values in host byte order. */
  data: IdxData;
}

/** MNIST-style images: [count, height, width] uint8. */
export interface IdxImages {
  count: number;
  height: number;
  width: number;
  pixels: Uint8Array;
}

/** Images and their labels, counts checked equal. */
export interface IdxPair extends IdxImages {
  labels: Uint8Array;
}

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

const TYPES: Readonly<Record<number, { type: IdxType; size: number }>> = {
  0x08: { type: 'uint8', size: 1 },
  0x09: { type: 'int8', size: 1 },
  0x0b: { type: 'int16', size: 2 },
  0x0c: { type: 'int32', size: 4 },
  0x0d: { type: 'float32', size: 4 },
  0x0e: { type: 'float64', size: 8 },
};

/** Largest IDX array QuantLab reads (elements). */
const IDX_MAX_ELEMENTS = 2 ** 31 - 1;

function hex32(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses IDX bytes (gzipped or not). `fileName` is quoted in every error. */
export function readIdx(input: Uint8Array, fileName: string): IdxArray {
  let bytes = input;
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new UserError('bad-input', `'${fileName}' starts like a gzip file but cannot be inflated (${(e as Error).message}); it is truncated or damaged.`, { cause: e });
    }
  }
  const fail = (why: string): never => {
    throw new UserError('bad-input', `'${fileName}' is not a readable IDX file: ${why}.`);
  };
  if (bytes.length < 4) fail(`it is only ${bytes.length} bytes long`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const typeInfo = TYPES[bytes[2]];
  const ndims = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !typeInfo || ndims === 0) {
    fail(`its magic number is ${hex32(magic)}; IDX files start with 0x0000TTNN (TT the type 08/09/0b/0c/0d/0e, NN the number of dimensions), e.g. 0x00000803 for images and 0x00000801 for labels`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) fail(`its magic ${hex32(magic)} declares ${ndims} dimensions but the file ends after ${bytes.length} bytes (truncated)`);
  const shape: number[] = [];
  for (let d = 0; d < ndims; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > IDX_MAX_ELEMENTS) fail(`its shape [${shape.join(', ')}] has ${count} elements, more than QuantLab reads (${IDX_MAX_ELEMENTS})`);
  const dataBytes = count * typeInfo.size;
  const available = bytes.length - headerBytes;
  if (available < dataBytes) {
    fail(`its header declares a [${shape.join(', ')}] ${typeInfo.type} array (${dataBytes} bytes of data) but only ${available} bytes follow (truncated)`);
  }
  if (available > dataBytes) {
    fail(`it has ${available - dataBytes} bytes after the data of its [${shape.join(', ')}] ${typeInfo.type} array`);
  }
  return { type: typeInfo.type, shape, data: decode(typeInfo.type, typeInfo.size, view, headerBytes, count) };
}

function decode(type: IdxType, size: number, view: DataView, offset: number, count: number): IdxData {
  const src = new Uint8Array(view.buffer, view.byteOffset + offset, count * size);
  switch (type) {
    case 'uint8':
      return src.slice();
    case 'int8':
      return new Int8Array(src.slice().buffer);
    case 'int16': {
      const out = new Int16Array(count);
      for (let k = 0; k < count; k++) out[k] = view.getInt16(offset + 2 * k, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let k = 0; k < count; k++) out[k] = view.getInt32(offset + 4 * k, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let k = 0; k < count; k++) out[k] = view.getFloat32(offset + 4 * k, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let k = 0; k < count; k++) out[k] = view.getFloat64(offset + 8 * k, false);
      return out;
    }
  }
}

/** Reads an IDX file from disk; a missing or unreadable file is a UserError naming it. */
export function readIdxFile(filePath: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('bad-input', `IDX file '${filePath}' cannot be read: ${code === 'ENOENT' ? 'it does not exist' : (code ?? (e as Error).message)}.`, { cause: e });
  }
  return readIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), filePath);
}

function expectMagic(a: IdxArray, fileName: string, what: 'images' | 'labels'): void {
  const wantDims = what === 'images' ? 3 : 1;
  if (a.type !== 'uint8' || a.shape.length !== wantDims) {
    const typeByte = Object.entries(TYPES).find(([, t]) => t.type === a.type)![0];
    const magic = (Number(typeByte) << 8) | a.shape.length;
    const want = what === 'images' ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC;
    throw new UserError(
      'bad-input',
      `'${fileName}' has IDX magic ${hex32(magic)} (${a.type}, ${a.shape.length} dimensions); MNIST-style ${what} files have magic ${hex32(want)} (uint8, ${wantDims} dimension${wantDims > 1 ? 's' : ''}).`,
    );
  }
}

/** MNIST-style images (magic 0x00000803) from bytes. */
export function parseIdxImages(bytes: Uint8Array, fileName: string): IdxImages {
  const a = readIdx(bytes, fileName);
  expectMagic(a, fileName, 'images');
  return { count: a.shape[0], height: a.shape[1], width: a.shape[2], pixels: a.data as Uint8Array };
}

/** MNIST-style labels (magic 0x00000801) from bytes. */
export function parseIdxLabels(bytes: Uint8Array, fileName: string): Uint8Array {
  const a = readIdx(bytes, fileName);
  expectMagic(a, fileName, 'labels');
  return a.data as Uint8Array;
}

export function readIdxImages(filePath: string): IdxImages {
  const a = readIdxFile(filePath);
  expectMagic(a, filePath, 'images');
  return { count: a.shape[0], height: a.shape[1], width: a.shape[2], pixels: a.data as Uint8Array };
}

export function readIdxLabels(filePath: string): Uint8Array {
  const a = readIdxFile(filePath);
  expectMagic(a, filePath, 'labels');
  return a.data as Uint8Array;
}

/** An images file and its labels file; their counts must agree. */
export function readIdxPair(imagesPath: string, labelsPath: string): IdxPair {
  const images = readIdxImages(imagesPath);
  const labels = readIdxLabels(labelsPath);
  if (labels.length !== images.count) {
    throw new UserError(
      'bad-input',
      `'${imagesPath}' holds ${images.count} images but '${labelsPath}' holds ${labels.length} labels; an images file and its labels file must have the same count.`,
    );
  }
  return { ...images, labels };
}
