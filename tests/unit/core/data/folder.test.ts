/**
 * Image folders: PNG and JPEG files written here with sharp's encoder into a temporary folder,
 * read back through openDataset. PNG is lossless, so pixels are checked exactly against the values
 * written (and preprocessing against hand computations); JPEG is lossy, so a flat colour is checked
 * within a few levels.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../../../src/core/data/dataset';
import { UserError } from '../../../../src/core/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-folder-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function png(file: string, width: number, height: number, channels: 1 | 3 | 4, pixels: number[]): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(Buffer.from(pixels), { raw: { width, height, channels } }).png().toFile(file);
}
async function jpeg(file: string, width: number, height: number, rgb: [number, number, number]): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const px: number[] = [];
  for (let k = 0; k < width * height; k++) px.push(...rgb);
  await sharp(Buffer.from(px), { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toFile(file);
}

const classes = path.join(tmp, 'classes');
beforeAll(async () => {
  // Sorted by code point: 'Bee' < 'ant' < 'zebra'.
  await png(path.join(classes, 'zebra', 'b.png'), 2, 1, 1, [0, 200]);
  await png(path.join(classes, 'zebra', 'a.png'), 2, 1, 1, [10, 20]);
  await png(path.join(classes, 'ant', 'nested', 'x.png'), 2, 1, 3, [100, 150, 200, 0, 255, 0]);
  await jpeg(path.join(classes, 'Bee', 'y.JPG'), 2, 1, [200, 40, 60]);
  fs.mkdirSync(path.join(classes, 'empty-class'));
  fs.writeFileSync(path.join(classes, 'zebra', 'notes.txt'), 'not an image');
});

describe('image folders', () => {
  it('labels by sorted sub-folder names and decodes PNG exactly and JPEG closely', async () => {
    const ds = await openDataset(`folder:${classes}`, { preprocess: { scale: 1 } });
    expect(ds.classes).toEqual(['Bee', 'ant', 'zebra']);
    expect([...ds.labels!]).toEqual([0, 1, 2, 2]);
    expect(ds.files.map((f) => path.relative(classes, f))).toEqual(['Bee/y.JPG', 'ant/nested/x.png', 'zebra/a.png', 'zebra/b.png']);
    expect(ds.sampleShape).toEqual([1, 2, 3]);
    expect(ds.preprocess.channels).toBe('rgb');
    const out = new Float32Array(6);
    ds.sample(1, out);
    expect([...out]).toEqual([100, 150, 200, 0, 255, 0]);
    // A grey image in a colour dataset repeats its grey value.
    ds.sample(3, out);
    expect([...out]).toEqual([0, 0, 0, 200, 200, 200]);
    ds.sample(0, out);
    const want = [200, 40, 60, 200, 40, 60];
    out.forEach((v, k) => expect(Math.abs(v - want[k])).toBeLessThanOrEqual(4));
    expect(ds.description).toContain('3 classes from sub-folder names');
  });

  it('converts to grey (BT.601), to bgr, and scales by 1/255 by default', async () => {
    const grey = await openDataset(`folder:${classes}`, { preprocess: { channels: 'gray' } });
    expect(grey.sampleShape).toEqual([1, 2, 1]);
    expect(grey.preprocess.scale).toBe(1 / 255);
    const out = new Float32Array(2);
    grey.sample(1, out);
    expect(out[0]).toBeCloseTo((0.299 * 100 + 0.587 * 150 + 0.114 * 200) / 255, 6);
    expect(out[1]).toBeCloseTo((0.587 * 255) / 255, 6);
    const bgr = await openDataset(`folder:${classes}`, { preprocess: { channels: 'bgr', scale: 1 } });
    const o3 = new Float32Array(6);
    bgr.sample(1, o3);
    expect([...o3]).toEqual([200, 150, 100, 0, 255, 0]);
  });

  it("resizes bilinearly to the model input's H×W and takes its channel count", async () => {
    const ds = await openDataset(`folder:${classes}@4`, { inputShape: [1, 1, 4, 1], preprocess: { scale: 1 } });
    expect(ds.sampleShape).toEqual([1, 4, 1]);
    expect(ds.preprocess).toMatchObject({ resize: [1, 4], channels: 'gray' });
    const out = new Float32Array(4);
    // [0, 200] at half-pixel centres: positions 0, 0.25, 0.75, 1 → 0, 50, 150, 200.
    ds.sample(3, out);
    expect([...out]).toEqual([0, 50, 150, 200]);
    const explicit = await openDataset(`folder:${classes}`, { preprocess: { resize: [2, 2], scale: 1, channels: 'gray' } });
    const o4 = new Float32Array(4);
    explicit.sample(2, o4);
    // zebra/a.png [10, 20] to 2×2: each row is the 1×2 → 1×2 columns, unchanged: 10, 20.
    expect([...o4]).toEqual([10, 20, 10, 20]);
  });

  it('@N decodes only the first N; an unlabelled folder has no classes', async () => {
    const first = await openDataset(`folder:${classes}@2`);
    expect(first.count).toBe(2);
    expect([...first.labels!]).toEqual([0, 1]);
    const flat = path.join(tmp, 'flat');
    await png(path.join(flat, 'b.png'), 1, 1, 4, [9, 8, 7, 0]);
    await png(path.join(flat, 'a.png'), 1, 1, 1, [5]);
    const ds = await openDataset(`folder:${flat}`, { preprocess: { scale: 1 } });
    expect(ds).toMatchObject({ count: 2, classes: null, labels: null, sampleShape: [1, 1, 3] });
    const out = new Float32Array(3);
    ds.sample(1, out);
    expect([...out]).toEqual([9, 8, 7]); // alpha dropped
  });

  it('refuses a missing folder, a folder without images, a corrupt image, loose images beside classes', async () => {
    const fail = async (spec: string) => {
      const e = await openDataset(spec).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(UserError);
      return (e as Error).message;
    };
    expect(await fail(`folder:${path.join(tmp, 'nope')}`)).toContain('does not exist');
    const none = path.join(tmp, 'none');
    fs.mkdirSync(path.join(none, 'sub'), { recursive: true });
    expect(await fail(`folder:${none}`)).toContain(`'${none}' holds no PNG or JPEG images`);
    const bad = path.join(tmp, 'bad');
    fs.mkdirSync(path.join(bad, 'cls'), { recursive: true });
    fs.writeFileSync(path.join(bad, 'cls', 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nnot really'));
    expect(await fail(`folder:${bad}`)).toContain(`Image '${path.join(bad, 'cls', 'broken.png')}' cannot be decoded`);
    const loose = path.join(tmp, 'loose');
    await png(path.join(loose, 'cls', 'a.png'), 1, 1, 1, [1]);
    await png(path.join(loose, 'stray.png'), 1, 1, 1, [1]);
    expect(await fail(`folder:${loose}`)).toContain("'stray.png'");
  });
});
