/**
 * A small zip writer (PKWARE APPNOTE 6.3: local headers, central directory, end record), entries
 * stored or deflated. No ZIP64: an archive over 4 GiB, or over 65,535 entries, is refused.
 */
import { deflateRawSync } from 'node:zlib';
import { UserError } from '../errors';
import { crc32 } from './reader';

export interface ZipInput {
  name: string;
  bytes: Uint8Array;
  /** Deflate (default) or store as is (already-compressed data). */
  compress?: boolean;
}

const U32_MAX = 0xffffffff;

/** DOS date/time of a fixed instant, so the same inputs give the same archive bytes. */
const DOS_TIME = 0;
const DOS_DATE = (1 << 5) | 1 | ((2020 - 1980) << 9);

export function writeZip(entries: ZipInput[]): Uint8Array {
  if (entries.length > 0xffff) throw new UserError('too-large', `A zip archive holds at most 65,535 entries; this one would hold ${entries.length}.`);
  const encoder = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new Error(`Duplicate zip entry name '${e.name}'.`);
    seen.add(e.name);
    const name = encoder.encode(e.name);
    const crc = crc32(e.bytes);
    const deflated = e.compress === false ? null : deflateRawSync(e.bytes);
    const useDeflate = deflated !== null && deflated.length < e.bytes.length;
    const data = useDeflate ? new Uint8Array(deflated.buffer, deflated.byteOffset, deflated.length) : e.bytes;
    if (data.length >= U32_MAX || e.bytes.length >= U32_MAX || offset >= U32_MAX) {
      throw new UserError('too-large', `Zip entry '${e.name}' is too large for a zip archive without ZIP64 (over 4 GiB).`);
    }
    const method = useDeflate ? 8 : 0;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true); // version needed: 2.0
    lv.setUint16(6, 0x0800, true); // UTF-8 names
    lv.setUint16(8, method, true);
    lv.setUint16(10, DOS_TIME, true);
    lv.setUint16(12, DOS_DATE, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, e.bytes.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, 0, true);
    local.set(name, 30);

    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true); // made by: 2.0
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x0800, true);
    cv.setUint16(10, method, true);
    cv.setUint16(12, DOS_TIME, true);
    cv.setUint16(14, DOS_DATE, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, e.bytes.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);

    locals.push(local, data);
    centrals.push(central);
    offset += local.length + data.length;
  }
  const cdSize = centrals.reduce((a, c) => a + c.length, 0);
  if (offset + cdSize >= U32_MAX) throw new UserError('too-large', 'The archive would be over 4 GiB, which needs ZIP64.');
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
