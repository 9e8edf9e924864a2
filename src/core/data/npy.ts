/**
 * NumPy `.npy` arrays (and `.npz` archives of them), read and written without NumPy.
 *
 * The format (numpy/lib/format.py, "NEP 1"):
 *
 *   "\x93NUMPY" major minor   header length (v1: uint16 LE; v2, v3: uint32 LE)   header   data
 *
 * The header is a Python dict literal, `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`,
 * padded with spaces and ended by '\n' (latin-1 in v1/v2, UTF-8 in v3). NumPy pads it so the data
 * starts at a multiple of 64 bytes (16 in old releases); readers must not rely on that.
 * The data is the array's elements, packed, in C (row-major) or Fortran (column-major) order.
 *
 * QuantLab reads float32, float64 (converted to float32, with a note), float16, int8, uint8,
 * int16, int32, int64 and bool, in either byte order, C order only (Fortran order is refused with
 * a sentence unless the layout is the same, i.e. at most one dimension exceeds 1). Every length
 * is checked against the file before it is used: a truncated or padded file, a header that runs
 * past the end, or a shape whose element count overflows is refused, naming the file and value.
 * Arrays come back in the IR's representation (DType + TensorData, little-endian).
 */
import { ArchiveError, UserError } from '../errors';
import { looksLikeZip, ZipArchive } from '../zip/reader';
import { dtypeSizeBytes, elementCount, formatShape } from '../ir/graph';
import type { DType, TensorData } from '../ir/types';
import { writeZip } from '../zip/writer';

export const NPY_MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Largest array QuantLab reads from a .npy (elements); far beyond any model input. */
export const NPY_MAX_ELEMENTS = 2 ** 31 - 1;

/** A bad .npy / .npz: one sentence naming the file and the value at fault. */
export class NpyFormatError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad-input', message, options);
    this.name = 'NpyFormatError';
  }
}

/** An array as QuantLab holds it: IR dtype, shape, dense little-endian row-major data. */
export interface NdArray {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export interface NpyArray extends NdArray {
  /** The element type as stored in the file, e.g. '<f8', '>i2', '|u1'. */
  descr: string;
  /** Format version, e.g. '1.0'. */
  version: string;
  /** Conversions made while reading (float64 → float32), as sentences. */
  notes: string[];
}

interface DescrInfo {
  /** IR dtype the values are delivered as. */
  dtype: DType;
  /** Bytes per stored element. */
  itemSize: number;
  bigEndian: boolean;
  /** Stored as float64 (converted to float32 on read). */
  float64: boolean;
}

const KIND_TO_DTYPE: Readonly<Record<string, DType | 'float64'>> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  u1: 'uint8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  b1: 'bool',
};

const DTYPE_TO_KIND: Readonly<Record<DType, string>> = {
  float16: 'f2',
  float32: 'f4',
  int8: 'i1',
  uint8: 'u1',
  int16: 'i2',
  int32: 'i4',
  int64: 'i8',
  bool: 'b1',
};

function parseDescr(descr: unknown, fileName: string): DescrInfo {
  if (typeof descr !== 'string') {
    throw new NpyFormatError(`${fileName} holds a structured array (descr ${pyRepr(descr)}); QuantLab reads plain numeric arrays only.`);
  }
  const m = /^([<>|=])([a-zA-Z]\d+)$/.exec(descr);
  const kind = m ? KIND_TO_DTYPE[m[2]] : undefined;
  if (!m || !kind) {
    throw new NpyFormatError(
      `${fileName} holds elements of type '${descr}', which QuantLab does not read (it reads float32, float64, float16, int8, uint8, int16, int32, int64 and bool).`,
    );
  }
  const itemSize = Number(m[2].slice(1));
  // '|' means "byte order not applicable": only valid for one-byte types.
  if (m[1] === '|' && itemSize !== 1) throw new NpyFormatError(`${fileName} has element type '${descr}', which does not say its byte order.`);
  return { dtype: kind === 'float64' ? 'float32' : kind, itemSize, bigEndian: m[1] === '>', float64: kind === 'float64' };
}

// ---- the header: a small Python literal parser ------------------------------------------------

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

function pyRepr(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  if (Array.isArray(v)) return `(${v.map(pyRepr).join(', ')}${v.length === 1 ? ',' : ''})`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `'${k}': ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

/**
 * Parses the subset of Python literals NumPy writes in headers: dicts, tuples, lists, strings
 * (single or double quoted, with backslash escapes), integers (Python 2's `3L` too), True,
 * False and None. Throws a plain Error with what was expected and where.
 */
function parsePyLiteral(text: string): PyValue {
  let i = 0;
  const skip = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`expected ${what} at character ${i} ('${text.slice(i, i + 12)}')`);
  };
  let depth = 0;
  const value = (): PyValue => {
    skip();
    const c = text[i];
    if (c === '{' || c === '(' || c === '[') {
      if (++depth > 8) fail('less nesting');
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      const dict: { [key: string]: PyValue } = Object.create(null) as { [key: string]: PyValue };
      for (;;) {
        skip();
        if (text[i] === close) {
          i++;
          break;
        }
        if (c === '{') {
          const key = value();
          if (typeof key !== 'string') fail('a string key');
          skip();
          if (text[i] !== ':') fail("':'");
          i++;
          dict[key as string] = value();
        } else {
          items.push(value());
        }
        skip();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`',' or '${close}'`);
      }
      depth--;
      return c === '{' ? dict : items;
    }
    if (c === "'" || c === '"') {
      i++;
      let s = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        s += text[i++];
      }
      if (i >= text.length) fail('the end of a string');
      i++;
      return s;
    }
    const word = /^(-?\d+)L?|^True|^False|^None/.exec(text.slice(i));
    if (!word) return fail('a value');
    i += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[1]);
  };
  const v = value();
  skip();
  if (i !== text.length) fail('the end of the header');
  return v;
}

// ---- reading ----------------------------------------------------------------------------------

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reads one .npy file's bytes. `fileName` is quoted in every error. */
export function readNpy(bytes: Uint8Array, fileName: string): NpyArray {
  const fail = (why: string): never => {
    throw new NpyFormatError(`${fileName} is not a readable .npy file: ${why}.`);
  };
  if (!littleEndianHost) throw new NpyFormatError('Reading .npy files needs a little-endian machine.');
  if (bytes.length < 10 || NPY_MAGIC.some((b, k) => bytes[k] !== b)) {
    if (bytes.length < 10 && NPY_MAGIC.slice(0, bytes.length).every((b, k) => bytes[k] === b)) {
      fail(`it is only ${bytes.length} bytes long (truncated)`);
    }
    fail('it does not start with the NumPy magic bytes \\x93NUMPY');
  }
  const major = bytes[6];
  const minor = bytes[7];
  const version = `${major}.${minor}`;
  if (major < 1 || major > 3) fail(`it declares format version ${version}; QuantLab reads versions 1.0, 2.0 and 3.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail(`it is only ${bytes.length} bytes long (truncated)`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) {
    fail(`its header claims ${headerLength} bytes but the file ends after ${bytes.length - 8 - lengthBytes} (truncated)`);
  }
  const headerBytes = bytes.subarray(8 + lengthBytes, dataStart);
  const headerText = major === 3 ? new TextDecoder('utf-8', { fatal: false }).decode(headerBytes) : latin1(headerBytes);
  let header: PyValue;
  try {
    header = parsePyLiteral(headerText);
  } catch (e) {
    return fail(`its header is not a Python dict literal (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return fail(`its header is ${pyRepr(header)}, not a dict`);
  for (const key of ['descr', 'fortran_order', 'shape']) if (!(key in header)) fail(`its header has no '${key}' entry`);
  const descrInfo = parseDescr(header.descr, fileName);
  const shapeValue = header.shape;
  if (!Array.isArray(shapeValue) || shapeValue.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    return fail(`its shape ${pyRepr(shapeValue)} is not a tuple of non-negative integers`);
  }
  const shape = shapeValue as number[];
  if (shape.length > 32) fail(`its shape has ${shape.length} dimensions (NumPy allows at most 32)`);
  const count = elementCount(shape);
  if (!Number.isSafeInteger(count) || count > NPY_MAX_ELEMENTS) {
    fail(`its shape ${formatShape(shape)} has ${count} elements, more than QuantLab reads (${NPY_MAX_ELEMENTS})`);
  }
  const fortran = header.fortran_order;
  if (typeof fortran !== 'boolean') fail(`its fortran_order is ${pyRepr(fortran)}, not True or False`);
  // C and Fortran order are the same bytes when at most one dimension exceeds 1.
  if (fortran && shape.filter((d) => d > 1).length > 1) {
    throw new NpyFormatError(
      `${fileName} stores its ${formatShape(shape)} array in Fortran (column-major) order; QuantLab reads C order only. Save it with np.save(path, np.ascontiguousarray(a)).`,
    );
  }
  const dataBytes = count * descrInfo.itemSize;
  const available = bytes.length - dataStart;
  const typeName = descrInfo.float64 ? 'float64' : descrInfo.dtype;
  if (available < dataBytes) {
    throw new NpyFormatError(
      `${fileName} is truncated: its header declares a ${formatShape(shape)} ${typeName} array (${dataBytes} bytes of data) but only ${available} bytes follow the header.`,
    );
  }
  if (available > dataBytes) {
    throw new NpyFormatError(
      `${fileName} has ${available - dataBytes} bytes after the data of its ${formatShape(shape)} ${typeName} array; the file is damaged or not one array.`,
    );
  }
  const raw = bytes.slice(dataStart, dataStart + dataBytes);
  if (descrInfo.bigEndian && descrInfo.itemSize > 1) swapBytes(raw, descrInfo.itemSize);
  const notes: string[] = [];
  let data: TensorData;
  if (descrInfo.float64) {
    const f64 = new Float64Array(raw.buffer, 0, count);
    const f32 = Float32Array.from(f64);
    let inexact = 0;
    let overflow = 0;
    for (let k = 0; k < count; k++) {
      if (f32[k] !== f64[k] && !(Number.isNaN(f32[k]) && Number.isNaN(f64[k]))) inexact++;
      if (!Number.isFinite(f32[k]) && Number.isFinite(f64[k])) overflow++;
    }
    notes.push(
      `${fileName} holds float64 values; they were converted to float32` +
        (inexact ? ` (${inexact} of ${count} rounded${overflow ? `, ${overflow} beyond the float32 range became ±Infinity` : ''})` : ' exactly') +
        '.',
    );
    data = f32;
  } else {
    data = typedArrayOver(descrInfo.dtype, raw.buffer, count);
    if (descrInfo.dtype === 'bool') {
      const bad = (data as Uint8Array).findIndex((v) => v > 1);
      if (bad >= 0) fail(`element ${bad} of its bool array is ${(data as Uint8Array)[bad]}, not 0 or 1`);
    }
  }
  return { dtype: descrInfo.dtype, shape: [...shape], data, descr: header.descr as string, version, notes };
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let k = 0; k < bytes.length; k++) s += String.fromCharCode(bytes[k]);
  return s;
}

function swapBytes(bytes: Uint8Array, itemSize: number): void {
  for (let p = 0; p < bytes.length; p += itemSize) {
    for (let a = p, b = p + itemSize - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

function typedArrayOver(dtype: DType, buffer: ArrayBufferLike, count: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, 0, count);
    case 'float16':
      return new Uint16Array(buffer, 0, count);
    case 'int8':
      return new Int8Array(buffer, 0, count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, 0, count);
    case 'int16':
      return new Int16Array(buffer, 0, count);
    case 'int32':
      return new Int32Array(buffer, 0, count);
    case 'int64':
      return new BigInt64Array(buffer, 0, count);
  }
}

// ---- writing ----------------------------------------------------------------------------------

/** The .npy bytes of an array (format 1.0, or 2.0 when the header needs it; C order, little-endian). */
export function writeNpy(array: NdArray): Uint8Array {
  if (!littleEndianHost) throw new NpyFormatError('Writing .npy files needs a little-endian machine.');
  const { dtype, shape, data } = array;
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new NpyFormatError(`Cannot write a .npy array of shape ${formatShape(shape)}: every dimension must be known and non-negative.`);
  }
  const count = elementCount(shape);
  if (count !== data.length) {
    throw new NpyFormatError(`Cannot write a .npy array of shape ${formatShape(shape)} (${count} elements) from ${data.length} values.`);
  }
  const descr = `${dtypeSizeBytes(dtype) === 1 ? '|' : '<'}${DTYPE_TO_KIND[dtype]}`;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces so magic + version + length + header (ending in '\n') is a multiple of 64.
  let major = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLength = total - prefix;
  const header = dict + ' '.repeat(headerLength - dict.length - 1) + '\n';
  const payload = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(total + payload.length);
  out.set(NPY_MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  for (let k = 0; k < header.length; k++) out[prefix + k] = header.charCodeAt(k);
  out.set(payload, total);
  return out;
}

// ---- .npz -------------------------------------------------------------------------------------

/**
 * Reads a `.npz` archive (np.savez / np.savez_compressed: a zip of `<name>.npy` entries).
 * Returns the arrays by name, without the `.npy` suffix, in archive order.
 */
export function readNpz(bytes: Uint8Array, fileName: string): Map<string, NpyArray> {
  if (!looksLikeZip(bytes)) throw new NpyFormatError(`${fileName} is not a .npz file: it is not a zip archive.`);
  const out = new Map<string, NpyArray>();
  try {
    const zip = ZipArchive.open(bytes, fileName);
    for (const name of zip.entries.keys()) {
      if (name.endsWith('/')) continue;
      const key = name.endsWith('.npy') ? name.slice(0, -4) : name;
      out.set(key, readNpy(zip.read(name), `${fileName}:${name}`));
    }
  } catch (e) {
    if (e instanceof NpyFormatError) throw e;
    if (e instanceof ArchiveError) throw new NpyFormatError(e.message, { cause: e });
    throw e;
  }
  return out;
}

/** A `.npz` archive of named arrays (entries `<name>.npy`; deflated when `compress`). */
export function writeNpz(arrays: ReadonlyMap<string, NdArray> | readonly [string, NdArray][], options: { compress?: boolean } = {}): Uint8Array {
  const list = arrays instanceof Map ? [...arrays.entries()] : [...(arrays as readonly [string, NdArray][])];
  return writeZip(list.map(([name, a]) => ({ name: `${name}.npy`, bytes: writeNpy(a), compress: options.compress ?? false })));
}

/** True when the bytes start like a .npy file. */
export function isNpyBytes(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && NPY_MAGIC.every((b, k) => bytes[k] === b);
}

/** How a dtype is named in messages ('float32'); arrays read from float64 files say so in their notes. */
export function describeArray(a: Pick<NdArray, 'dtype' | 'shape'>): string {
  return `${formatShape(a.shape)} ${a.dtype}`;
}
