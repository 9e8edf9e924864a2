/**
 * A thin, defensive view of an HDF5 file held in memory, on top of h5wasm (the HDF5 C library
 * compiled to WebAssembly). The bytes are written to h5wasm's in-memory file system (the ESM
 * build uses MEMFS, so nothing touches the disk), opened read-only, read, then closed and
 * removed.
 *
 * Before h5wasm sees the bytes, the superblock is checked here: a missing signature or an
 * end-of-file address past the end of the buffer (a truncated download) becomes a sentence,
 * not an HDF5 diagnostic dump.
 */
import h5wasm from 'h5wasm';
import { ModelFormatError } from '../../errors';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Offset of the HDF5 superblock (0, 512, 1024, 2048, …), or -1 when there is none. */
export function findHdf5Superblock(bytes: Uint8Array): number {
  for (let offset = 0; offset + 8 <= bytes.length; offset = offset === 0 ? 512 : offset * 2) {
    let ok = true;
    for (let i = 0; i < 8 && ok; i++) ok = bytes[offset + i] === HDF5_SIGNATURE[i];
    if (ok) return offset;
  }
  return -1;
}

export function looksLikeHdf5(bytes: Uint8Array): boolean {
  return findHdf5Superblock(bytes) === 0;
}

/**
 * Reads the end-of-file address from the superblock (versions 0–3) and checks the buffer holds
 * that many bytes.
 */
function checkSuperblock(bytes: Uint8Array, fileName: string): void {
  const base = findHdf5Superblock(bytes);
  if (base < 0) throw new ModelFormatError(`${fileName} is not an HDF5 file: the HDF5 signature was not found.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n: number): void => {
    if (base + n > bytes.length) {
      throw new ModelFormatError(`${fileName} is truncated: it ends (${bytes.length} bytes) inside the HDF5 superblock.`);
    }
  };
  need(9);
  const version = bytes[base + 8];
  let sizeOfOffsets: number;
  let eofField: number;
  if (version === 0 || version === 1) {
    need(14);
    sizeOfOffsets = bytes[base + 13];
    // signature 8, 5 version bytes, reserved, offsets, lengths, reserved, 2+2 K values, flags 4
    // (+ 2 + 2 in version 1), then base address, free-space address, end-of-file address.
    eofField = base + 24 + (version === 1 ? 4 : 0) + 2 * sizeOfOffsets;
  } else if (version === 2 || version === 3) {
    need(10);
    sizeOfOffsets = bytes[base + 9];
    // signature 8, version, offsets, lengths, flags, then base, extension, end-of-file address.
    eofField = base + 12 + 2 * sizeOfOffsets;
  } else {
    throw new ModelFormatError(`${fileName} uses HDF5 superblock version ${version}, which QuantLab cannot read (it reads versions 0 to 3).`);
  }
  if (sizeOfOffsets !== 4 && sizeOfOffsets !== 8) {
    throw new ModelFormatError(`${fileName} is corrupted: its HDF5 superblock gives ${sizeOfOffsets}-byte offsets.`);
  }
  need(eofField - base + sizeOfOffsets);
  let eof = 0;
  for (let i = sizeOfOffsets - 1; i >= 0; i--) eof = eof * 256 + view.getUint8(eofField + i);
  // The end-of-file address is relative to the base address (the superblock's position here).
  const undefinedAddress = eof === 2 ** (8 * sizeOfOffsets) - 1;
  if (!undefinedAddress && base + eof > bytes.length) {
    throw new ModelFormatError(
      `${fileName} is truncated: its HDF5 header says the file is ${base + eof} bytes long, but only ${bytes.length} bytes are there.`,
    );
  }
}

export interface H5Weight {
  /** The dataset path inside the file. */
  path: string;
  shape: number[];
  data: Float32Array;
}

type H5Group = InstanceType<typeof h5wasm.Group>;
type H5Dataset = InstanceType<typeof h5wasm.Dataset>;
type H5FileHandle = InstanceType<typeof h5wasm.File>;
type H5Module = Awaited<typeof h5wasm.ready>;

let fileCounter = 0;

/** An open HDF5 file; always `close()` it (use `withHdf5`). */
export class Hdf5File {
  readonly fileName: string;
  private readonly file: H5FileHandle;
  private readonly memPath: string;
  private readonly module: H5Module;

  private constructor(fileName: string, file: H5FileHandle, memPath: string, module: H5Module) {
    this.fileName = fileName;
    this.file = file;
    this.memPath = memPath;
    this.module = module;
  }

  static async open(bytes: Uint8Array, fileName: string): Promise<Hdf5File> {
    checkSuperblock(bytes, fileName);
    const module = await h5wasm.ready;
    const memPath = `/quantlab-keras-${++fileCounter}.h5`;
    module.FS.writeFile(memPath, bytes);
    try {
      const file = quietly(module, () => new h5wasm.File(memPath, 'r'));
      return new Hdf5File(fileName, file, memPath, module);
    } catch (e) {
      removeQuietly(module, memPath);
      throw new ModelFormatError(`${fileName} is not a readable HDF5 file (${firstLine(e)}).`, { cause: e });
    }
  }

  close(): void {
    try {
      quietly(this.module, () => this.file.close());
    } catch {
      // already closed or never fully opened
    }
    removeQuietly(this.module, this.memPath);
  }

  /** Runs `read` and turns any h5wasm failure into a ModelFormatError naming `what`. */
  guard<T>(what: string, read: () => T): T {
    try {
      return quietly(this.module, read);
    } catch (e) {
      if (e instanceof ModelFormatError) throw e;
      throw new ModelFormatError(`${this.fileName} is corrupted: reading ${what} failed (${firstLine(e)}).`, { cause: e });
    }
  }

  group(path: string): H5Group | null {
    return this.guard(`'${path}'`, () => {
      if (path === '' || path === '/') return this.file;
      const e = this.file.get(path);
      return e instanceof h5wasm.Group ? e : null;
    });
  }

  dataset(path: string): H5Dataset | null {
    return this.guard(`'${path}'`, () => {
      const e = this.file.get(path);
      return e instanceof h5wasm.Dataset ? e : null;
    });
  }

  keys(path: string): string[] {
    const g = this.group(path);
    return g ? this.guard(`the members of '${path}'`, () => g.keys()) : [];
  }

  /**
   * A string attribute (variable- or fixed-length, str or bytes), or a list of them. Keras
   * splits attributes larger than 64 kB into `name0`, `name1`, …; those are joined.
   */
  stringsAttr(path: string, name: string): string[] | undefined {
    const g = this.group(path) ?? this.dataset(path);
    if (!g) return undefined;
    return this.guard(`attribute '${name}' of '${path || '/'}'`, () => {
      const attrs = g.attrs;
      if (name in attrs) return toStrings(attrs[name].value);
      if (`${name}0` in attrs) {
        const out: string[] = [];
        for (let i = 0; `${name}${i}` in attrs; i++) out.push(...toStrings(attrs[`${name}${i}`].value));
        return out;
      }
      return undefined;
    });
  }

  stringAttr(path: string, name: string): string | undefined {
    const v = this.stringsAttr(path, name);
    return v === undefined ? undefined : v.join('');
  }

  hasAttr(path: string, name: string): boolean {
    const g = this.group(path);
    return !!g && this.guard(`the attributes of '${path || '/'}'`, () => name in g.attrs || `${name}0` in g.attrs);
  }

  /** A floating-point dataset as float32 (float16 and float64 are converted). */
  floatDataset(path: string): H5Weight {
    const ds = this.dataset(path);
    if (!ds) throw new ModelFormatError(`${this.fileName}: the weight '${path}' is missing.`);
    return this.guard(`the weight '${path}'`, () => {
      const meta = ds.metadata;
      const shape = (ds.shape ?? []).slice();
      const count = shape.reduce((a, b) => a * b, 1);
      const FLOAT_CLASS = 1;
      if (meta.type !== FLOAT_CLASS || ![2, 4, 8].includes(meta.size)) {
        throw new ModelFormatError(
          `${this.fileName}: the weight '${path}' has HDF5 type '${String(ds.dtype)}'; QuantLab reads float16, float32 and float64 weights.`,
        );
      }
      const value = ds.value;
      if (!ArrayBuffer.isView(value)) {
        throw new ModelFormatError(`${this.fileName}: the weight '${path}' could not be read as numbers.`);
      }
      const raw = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      if (raw.length !== count * meta.size) {
        throw new ModelFormatError(
          `${this.fileName}: the weight '${path}' holds ${raw.length} bytes, but its shape [${shape.join(', ')}] needs ${count * meta.size}.`,
        );
      }
      return { path, shape, data: decodeFloats(raw, meta.size, meta.littleEndian, count) };
    });
  }
}

/**
 * Runs `fn` with h5wasm's throwing error handler: HDF5 failures become exceptions carrying the
 * HDF5 error stack instead of being printed to stderr. Restored right after, so other users of
 * the shared module keep HDF5's default behaviour (calls are synchronous: nothing interleaves).
 */
function quietly<T>(module: H5Module, fn: () => T): T {
  module.activate_throwing_error_handler();
  try {
    return fn();
  } finally {
    module.deactivate_throwing_error_handler();
  }
}

/** Opens, runs `body`, and always closes. */
export async function withHdf5<T>(bytes: Uint8Array, fileName: string, body: (file: Hdf5File) => T | Promise<T>): Promise<T> {
  const file = await Hdf5File.open(bytes, fileName);
  try {
    return await body(file);
  } finally {
    file.close();
  }
}

function decodeFloats(raw: Uint8Array, size: number, littleEndian: boolean, count: number): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(count);
  if (size === 4) {
    if (littleEndian && raw.byteOffset % 4 === 0) out.set(new Float32Array(raw.buffer, raw.byteOffset, count));
    else for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, littleEndian);
  } else if (size === 8) {
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, littleEndian);
  } else {
    for (let i = 0; i < count; i++) out[i] = float16ToFloat32(view.getUint16(2 * i, littleEndian));
  }
  return out;
}

/** IEEE 754 half → single (exact). */
export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function toStrings(value: unknown): string[] {
  const one = (v: unknown): string => {
    if (typeof v === 'string') return v.replace(/\0+$/, '');
    if (v instanceof Uint8Array) return new TextDecoder().decode(v).replace(/\0+$/, '');
    return String(v);
  };
  if (Array.isArray(value)) return value.map(one);
  if (typeof value === 'string' || value instanceof Uint8Array) return [one(value)];
  // h5wasm gives an empty object for an empty (zero-length) attribute, as Keras writes for
  // layers without weights.
  return [];
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  // h5wasm's HDF5 error stacks end with the most specific reason.
  const minor = lines.filter((l) => l.startsWith('minor:')).pop();
  return (minor ?? lines[0] ?? 'unknown error').replace(/^minor:\s*/, '');
}

function removeQuietly(module: { FS: { unlink(path: string): void } }, path: string): void {
  try {
    module.FS.unlink(path);
  } catch {
    // not there
  }
}
