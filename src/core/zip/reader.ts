/**
 * A small, bounds-checked zip reader (Keras 3 `.keras` archives, `.npz` arrays, QuantLab bundles).
 * It reads the central directory (the authoritative list of entries), then
 * each entry's local header; entries are stored (method 0) or deflated (method 8). ZIP64
 * records are understood, encryption and other methods are refused with a sentence.
 *
 * Every offset read from the file is checked against the file length before use, so a
 * truncated or corrupted archive raises an ArchiveError instead of reading out of bounds.
 */
import { inflateRawSync } from 'node:zlib';
import { ArchiveError } from '../errors';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSizeBytes: number;
  uncompressedSizeBytes: number;
  crc32: number;
  localHeaderOffset: number;
  flags: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_MIN_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;

/** True when the bytes start like a zip archive (a local file header or an empty archive). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const sig = (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
  return sig === SIG_LOCAL || sig === SIG_EOCD;
}

export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly fileName: string;

  private constructor(bytes: Uint8Array, fileName: string, entries: Map<string, ZipEntry>) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.fileName = fileName;
    this.entries = entries;
  }

  /** Parses the central directory. `fileName` is only used in error messages. */
  static open(bytes: Uint8Array, fileName: string): ZipArchive {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const fail = (why: string): never => {
      throw new ArchiveError(`${fileName} is not a readable zip archive: ${why}.`);
    };
    if (bytes.length < EOCD_MIN_BYTES) fail(`it is only ${bytes.length} bytes long`);

    // The end-of-central-directory record sits at the end, before an optional comment.
    let eocd = -1;
    const lowest = Math.max(0, bytes.length - EOCD_MIN_BYTES - MAX_COMMENT_BYTES);
    for (let p = bytes.length - EOCD_MIN_BYTES; p >= lowest; p--) {
      if (view.getUint32(p, true) === SIG_EOCD && p + EOCD_MIN_BYTES + view.getUint16(p + 20, true) <= bytes.length) {
        eocd = p;
        break;
      }
    }
    if (eocd < 0) fail('no end-of-central-directory record was found (the file may be truncated)');

    let entryCount = view.getUint16(eocd + 10, true);
    let cdSize = view.getUint32(eocd + 12, true);
    let cdOffset = view.getUint32(eocd + 16, true);

    // ZIP64: the locator sits right before the classic record.
    if (entryCount === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || view.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) fail('its ZIP64 end-of-central-directory locator is missing');
      const z64 = readUint64(view, loc + 8, fail);
      if (z64 + 56 > bytes.length || view.getUint32(z64, true) !== SIG_ZIP64_EOCD) fail(`its ZIP64 end-of-central-directory record at offset ${z64} is missing`);
      entryCount = readUint64(view, z64 + 32, fail);
      cdSize = readUint64(view, z64 + 40, fail);
      cdOffset = readUint64(view, z64 + 48, fail);
    }
    if (cdOffset + cdSize > bytes.length) {
      fail(`its central directory (offset ${cdOffset}, ${cdSize} bytes) lies beyond the end of the ${bytes.length}-byte file (the file is truncated)`);
    }

    const entries = new Map<string, ZipEntry>();
    let p = cdOffset;
    const decoder = new TextDecoder('utf-8');
    for (let i = 0; i < entryCount; i++) {
      if (p + 46 > cdOffset + cdSize || view.getUint32(p, true) !== SIG_CENTRAL) {
        fail(`central directory entry ${i} at offset ${p} is damaged`);
      }
      const flags = view.getUint16(p + 8, true);
      const method = view.getUint16(p + 10, true);
      const crc32 = view.getUint32(p + 16, true);
      let compressedSizeBytes = view.getUint32(p + 20, true);
      let uncompressedSizeBytes = view.getUint32(p + 24, true);
      const nameLen = view.getUint16(p + 28, true);
      const extraLen = view.getUint16(p + 30, true);
      const commentLen = view.getUint16(p + 32, true);
      let localHeaderOffset = view.getUint32(p + 42, true);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > cdOffset + cdSize) fail(`central directory entry ${i} runs past the end of the directory`);
      const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));

      // ZIP64 extended information: only the fields whose classic value is saturated are present.
      let q = p + 46 + nameLen;
      const extraEnd = q + extraLen;
      while (q + 4 <= extraEnd) {
        const id = view.getUint16(q, true);
        const size = view.getUint16(q + 2, true);
        if (q + 4 + size > extraEnd) fail(`the extra field of entry '${name}' is damaged`);
        if (id === 0x0001) {
          let r = q + 4;
          const take = (): number => {
            if (r + 8 > q + 4 + size) fail(`the ZIP64 field of entry '${name}' is too short`);
            const v = readUint64(view, r, fail);
            r += 8;
            return v;
          };
          if (uncompressedSizeBytes === 0xffffffff) uncompressedSizeBytes = take();
          if (compressedSizeBytes === 0xffffffff) compressedSizeBytes = take();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
        }
        q += 4 + size;
      }
      entries.set(name, { name, method, compressedSizeBytes, uncompressedSizeBytes, crc32, localHeaderOffset, flags });
      p = end;
    }
    return new ZipArchive(bytes, fileName, entries);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The uncompressed bytes of one entry, CRC-checked. */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    const fail = (why: string): never => {
      throw new ArchiveError(`${this.fileName}: zip entry '${name}' cannot be read: ${why}.`);
    };
    if (!entry) {
      const names = [...this.entries.keys()].map((n) => `'${n}'`).join(', ');
      throw new ArchiveError(`${this.fileName} has no zip entry '${name}' (it holds ${names || 'no entries'}).`);
    }
    if (entry.flags & 0x1) fail('it is encrypted');
    const h = entry.localHeaderOffset;
    if (h + 30 > this.bytes.length) fail(`its local header at offset ${h} lies beyond the end of the ${this.bytes.length}-byte file (the file is truncated)`);
    if (this.view.getUint32(h, true) !== SIG_LOCAL) fail(`no local header was found at offset ${h}`);
    const start = h + 30 + this.view.getUint16(h + 26, true) + this.view.getUint16(h + 28, true);
    const end = start + entry.compressedSizeBytes;
    if (end > this.bytes.length) {
      fail(`its data ends at offset ${end} but the file has only ${this.bytes.length} bytes (the file is truncated)`);
    }
    const raw = this.bytes.subarray(start, end);
    let out: Uint8Array;
    if (entry.method === 0) {
      out = raw;
    } else if (entry.method === 8) {
      try {
        const inflated = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.uncompressedSizeBytes) });
        out = new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
      } catch (e) {
        return fail(`its deflate stream is damaged (${(e as Error).message})`);
      }
    } else {
      return fail(`it uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
    }
    if (out.length !== entry.uncompressedSizeBytes) {
      fail(`it holds ${out.length} bytes but the directory says ${entry.uncompressedSizeBytes}`);
    }
    const crc = crc32(out);
    if (crc !== entry.crc32) {
      fail(`its CRC-32 is ${hex(crc)} but the directory says ${hex(entry.crc32)} (the file is corrupted)`);
    }
    return out;
  }
}

function readUint64(view: DataView, offset: number, fail: (why: string) => never): number {
  if (offset < 0 || offset + 8 > view.byteLength) return fail(`a 64-bit field at offset ${offset} lies beyond the end of the file`);
  const lo = view.getUint32(offset, true);
  const hi = view.getUint32(offset + 4, true);
  const v = hi * 2 ** 32 + lo;
  if (!Number.isSafeInteger(v)) return fail(`a 64-bit field at offset ${offset} holds ${v}, which is too large`);
  return v;
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zip stores it. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
