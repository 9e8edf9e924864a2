/**
 * IDX reader against hand-built files: the header bytes and data below are written out by hand from
 * the format description (yann.lecun.com/exdb/mnist), plain and gzipped, plus damaged variants.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../../src/core/errors';
import { parseIdxImages, parseIdxLabels, readIdx, readIdxFile, readIdxPair } from '../../../../src/core/data/idx';

// 2 images of 2 rows × 3 columns: magic 00 00 08 03, then 2, 2, 3 as big-endian uint32, then 12 pixels.
const IMAGES = Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
// 2 labels: magic 00 00 08 01, count 2, labels 7 and 3.
const LABELS = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]);
// 3 labels (for the count mismatch).
const LABELS3 = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 7, 3, 1]);
// int16 [2]: 0x0102 = 258, 0xfffe = -2 (big-endian).
const INT16 = Uint8Array.from([0, 0, 0x0b, 1, 0, 0, 0, 2, 1, 2, 0xff, 0xfe]);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-idx-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
function write(name: string, bytes: Uint8Array): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, bytes);
  return p;
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe('bad-input');
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('IDX reader', () => {
  it('reads hand-built images and labels, plain and gzipped', () => {
    for (const wrap of [(b: Uint8Array) => b, (b: Uint8Array) => new Uint8Array(gzipSync(b))]) {
      const img = parseIdxImages(wrap(IMAGES), 'img');
      expect(img).toMatchObject({ count: 2, height: 2, width: 3 });
      expect([...img.pixels]).toEqual([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
      expect([...parseIdxLabels(wrap(LABELS), 'lab')]).toEqual([7, 3]);
    }
  });

  it('reads big-endian int16', () => {
    const a = readIdx(INT16, 'i16');
    expect(a.type).toBe('int16');
    expect([...a.data]).toEqual([258, -2]);
  });

  it('reads a file pair from disk and checks the counts agree', () => {
    const img = write('img-ubyte.gz', new Uint8Array(gzipSync(IMAGES)));
    const lab = write('lab-ubyte', LABELS);
    const pair = readIdxPair(img, lab);
    expect(pair.count).toBe(2);
    expect([...pair.labels]).toEqual([7, 3]);
    const lab3 = write('lab3-ubyte', LABELS3);
    const msg = message(() => readIdxPair(img, lab3));
    expect(msg).toContain('holds 2 images');
    expect(msg).toContain('holds 3 labels');
    expect(msg).toContain(lab3);
  });

  it('refuses bad magic, naming the file and the value', () => {
    const bad = IMAGES.slice();
    bad[2] = 0x07;
    const msg = message(() => readIdx(bad, 'bad.idx'));
    expect(msg).toContain("'bad.idx'");
    expect(msg).toContain('0x00000703');
    // A PNG is not an IDX file.
    expect(message(() => readIdx(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4]), 'x.png'))).toContain('0x89504e47');
  });

  it('refuses labels where images are expected and vice versa', () => {
    expect(message(() => parseIdxImages(LABELS, 'labels.idx'))).toContain('0x00000801');
    expect(message(() => parseIdxLabels(IMAGES, 'images.idx'))).toContain('0x00000803');
  });

  it('refuses truncated and padded files', () => {
    expect(message(() => readIdx(IMAGES.subarray(0, 20), 't.idx'))).toMatch(/12 bytes of data.*only 4 bytes follow \(truncated\)/);
    expect(message(() => readIdx(IMAGES.subarray(0, 10), 't.idx'))).toContain('truncated');
    expect(message(() => readIdx(IMAGES.subarray(0, 2), 't.idx'))).toContain('only 2 bytes');
    const padded = new Uint8Array(IMAGES.length + 3);
    padded.set(IMAGES);
    expect(message(() => readIdx(padded, 'p.idx'))).toContain('3 bytes after the data');
  });

  it('refuses a truncated gzip stream and a missing file', () => {
    const gz = new Uint8Array(gzipSync(IMAGES));
    expect(message(() => readIdx(gz.subarray(0, gz.length - 10), 'cut.gz'))).toMatch(/'cut.gz' starts like a gzip file but cannot be inflated/);
    expect(message(() => readIdxFile(path.join(tmp, 'nope-ubyte')))).toMatch(/nope-ubyte' cannot be read: it does not exist/);
  });
});
