/**
 * A small FlexBuffers reader (and a writer for flat maps of scalars), enough for the custom
 * options of TFLite custom ops such as TFLite_Detection_PostProcess.
 *
 * Why not the npm `flatbuffers` package's flexbuffers module: its encoder writes maps that mix
 * integers and floats with the wrong slot width (its own reader and TFLite both read garbage
 * floats back), so QuantLab keeps its own few lines here.
 *
 * The format, as far as used here (all little-endian):
 * - the last byte of the buffer is the byte width W of the root slot, the byte before it the
 *   root's packed type, and the W bytes before that the root slot itself;
 * - a packed type is `type << 2 | log2(width)`; for an inline scalar the slot width is the
 *   parent's, for an offset type the width is that of the data pointed at;
 * - an offset is unsigned and points backwards: target = slot position − value;
 * - a map at position p with element width W holds, before p, [offset to the keys vector,
 *   byte width of the keys vector, length]; from p its values, then one packed-type byte per
 *   value; the keys vector holds offsets to zero-terminated key strings, sorted.
 */

export const FLEX_NULL = 0;
export const FLEX_INT = 1;
export const FLEX_UINT = 2;
export const FLEX_FLOAT = 3;
export const FLEX_KEY = 4;
export const FLEX_STRING = 5;
export const FLEX_INDIRECT_INT = 6;
export const FLEX_INDIRECT_UINT = 7;
export const FLEX_INDIRECT_FLOAT = 8;
export const FLEX_MAP = 9;
export const FLEX_BOOL = 26;

/** A scalar value read from a FlexBuffers map: numbers for INT/UINT/FLOAT, booleans for BOOL, strings. */
export type FlexScalar = number | boolean | string | null;

/** Thrown for bytes that are not a FlexBuffers map; callers turn it into a sentence naming the op. */
export class FlexBufferError extends Error {}

class Reader {
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private check(pos: number, width: number): void {
    if (!Number.isInteger(pos) || pos < 0 || pos + width > this.bytes.length) {
      throw new FlexBufferError(`a read of ${width} bytes at ${pos} falls outside the ${this.bytes.length}-byte buffer`);
    }
  }

  uint(pos: number, width: number): number {
    this.check(pos, width);
    switch (width) {
      case 1:
        return this.view.getUint8(pos);
      case 2:
        return this.view.getUint16(pos, true);
      case 4:
        return this.view.getUint32(pos, true);
      case 8:
        return Number(this.view.getBigUint64(pos, true));
      default:
        throw new FlexBufferError(`byte width ${width} is not 1, 2, 4 or 8`);
    }
  }

  int(pos: number, width: number): number {
    this.check(pos, width);
    switch (width) {
      case 1:
        return this.view.getInt8(pos);
      case 2:
        return this.view.getInt16(pos, true);
      case 4:
        return this.view.getInt32(pos, true);
      case 8:
        return Number(this.view.getBigInt64(pos, true));
      default:
        throw new FlexBufferError(`byte width ${width} is not 1, 2, 4 or 8`);
    }
  }

  float(pos: number, width: number): number {
    this.check(pos, width);
    if (width === 4) return this.view.getFloat32(pos, true);
    if (width === 8) return this.view.getFloat64(pos, true);
    throw new FlexBufferError(`a float of ${width} bytes is not supported`);
  }

  indirect(pos: number, width: number): number {
    return pos - this.uint(pos, width);
  }

  cString(pos: number): string {
    let end = pos;
    while (end < this.bytes.length && this.bytes[end] !== 0) end++;
    if (end >= this.bytes.length) throw new FlexBufferError(`the key at ${pos} is not zero-terminated`);
    return new TextDecoder().decode(this.bytes.subarray(pos, end));
  }

  /** The value in a slot at `pos` of width `parentWidth` with packed type `packed`. */
  scalar(pos: number, parentWidth: number, packed: number): FlexScalar {
    const type = packed >> 2;
    const width = 1 << (packed & 3);
    switch (type) {
      case FLEX_NULL:
        return null;
      case FLEX_INT:
        return this.int(pos, parentWidth);
      case FLEX_UINT:
        return this.uint(pos, parentWidth);
      case FLEX_FLOAT:
        return this.float(pos, parentWidth);
      case FLEX_BOOL:
        return this.uint(pos, parentWidth) !== 0;
      case FLEX_INDIRECT_INT:
        return this.int(this.indirect(pos, parentWidth), width);
      case FLEX_INDIRECT_UINT:
        return this.uint(this.indirect(pos, parentWidth), width);
      case FLEX_INDIRECT_FLOAT:
        return this.float(this.indirect(pos, parentWidth), width);
      case FLEX_KEY:
        return this.cString(this.indirect(pos, parentWidth));
      case FLEX_STRING: {
        const at = this.indirect(pos, parentWidth);
        const length = this.uint(at - width, width);
        this.check(at, length);
        return new TextDecoder().decode(this.bytes.subarray(at, at + length));
      }
      default:
        throw new FlexBufferError(`value type ${type} is not a scalar`);
    }
  }
}

/**
 * Reads a FlexBuffers buffer whose root is a map, keeping its scalar entries (vectors and nested
 * maps are skipped). Throws FlexBufferError when the bytes are not such a map.
 */
export function readFlexMap(bytes: Uint8Array): Map<string, FlexScalar> {
  if (bytes.length < 3) throw new FlexBufferError(`${bytes.length} bytes are too few for a FlexBuffers root`);
  const r = new Reader(bytes);
  const rootWidth = bytes[bytes.length - 1];
  const rootPacked = bytes[bytes.length - 2];
  const rootPos = bytes.length - 2 - rootWidth;
  if (rootPacked >> 2 !== FLEX_MAP) throw new FlexBufferError(`the root has type ${rootPacked >> 2}, not a map (${FLEX_MAP})`);
  const mapPos = r.indirect(rootPos, rootWidth);
  const width = 1 << (rootPacked & 3);
  const length = r.uint(mapPos - width, width);
  const keysSlot = mapPos - 3 * width;
  const keysPos = r.indirect(keysSlot, width);
  const keysWidth = r.uint(mapPos - 2 * width, width);
  if (r.uint(keysPos - keysWidth, keysWidth) !== length) throw new FlexBufferError('the map has different numbers of keys and values');
  const out = new Map<string, FlexScalar>();
  for (let i = 0; i < length; i++) {
    const key = r.cString(r.indirect(keysPos + i * keysWidth, keysWidth));
    const packed = r.uint(mapPos + length * width + i, 1);
    const type = packed >> 2;
    if (type >= FLEX_MAP && type !== FLEX_BOOL) continue; // vectors, maps, blobs: not needed here
    out.set(key, r.scalar(mapPos + i * width, width, packed));
  }
  return out;
}

/** How `encodeFlexMap` stores a value: an integer, a float or a bool. */
export type FlexMapValue = { int: number } | { float: number } | { bool: boolean };

/**
 * Writes a flat map of scalars as FlexBuffers, every slot `width` bytes wide (4: int32/float32;
 * 8: int64/float64). Keys are sorted as FlexBuffers requires (byte order).
 */
export function encodeFlexMap(entries: Record<string, FlexMapValue>, width: 4 | 8 = 8): Uint8Array {
  const keys = Object.keys(entries).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const enc = new TextEncoder();
  const out: number[] = [];
  const pad = (): void => {
    while (out.length % width !== 0) out.push(0);
  };
  const keyPositions = keys.map((k) => {
    const at = out.length;
    out.push(...enc.encode(k), 0);
    return at;
  });
  const buffer = new ArrayBuffer(8);
  const dv = new DataView(buffer);
  const pushUint = (v: number): void => {
    if (width === 4) dv.setUint32(0, v, true);
    else dv.setBigUint64(0, BigInt(v), true);
    out.push(...new Uint8Array(buffer, 0, width));
  };
  const log2 = width === 4 ? 2 : 3;
  // keys vector: length, then offsets to the key strings
  pad();
  pushUint(keys.length);
  const keysPos = out.length;
  keys.forEach((_, i) => pushUint(keysPos + i * width - keyPositions[i]));
  // map: offset to keys, keys width, length, values, packed types
  pushUint(out.length - keysPos);
  pushUint(width);
  pushUint(keys.length);
  const mapPos = out.length;
  const types: number[] = [];
  for (const k of keys) {
    const v = entries[k];
    if ('int' in v) {
      if (width === 4) dv.setInt32(0, v.int, true);
      else dv.setBigInt64(0, BigInt(v.int), true);
      types.push((FLEX_INT << 2) | log2);
    } else if ('float' in v) {
      if (width === 4) dv.setFloat32(0, v.float, true);
      else dv.setFloat64(0, v.float, true);
      types.push((FLEX_FLOAT << 2) | log2);
    } else {
      if (width === 4) dv.setUint32(0, v.bool ? 1 : 0, true);
      else dv.setBigUint64(0, v.bool ? 1n : 0n, true);
      types.push(FLEX_BOOL << 2);
    }
    out.push(...new Uint8Array(buffer, 0, width));
  }
  out.push(...types);
  // root: offset to the map, its packed type, the root slot width
  pad();
  const rootPos = out.length;
  pushUint(rootPos - mapPos);
  out.push((FLEX_MAP << 2) | log2, width);
  return Uint8Array.from(out);
}
