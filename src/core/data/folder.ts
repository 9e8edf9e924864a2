/**
 * A folder of PNG/JPEG images, labelled by sub-folder (the layout of torchvision's ImageFolder and
 * Keras' image_dataset_from_directory):
 *
 *   DIR/cat/001.png   DIR/cat/002.jpg   DIR/dog/a.jpeg …   → classes ['cat', 'dog'], labels 0, 0, 1 …
 *
 * Classes are the sub-folder names sorted by code point (as Python's sorted()); images under a
 * class folder are found recursively and taken in sorted path order, class after class. A folder
 * with images and no sub-folders is an unlabelled dataset. Files are decoded by sharp (libvips) to
 * 8-bit grey or sRGB (alpha dropped, 16-bit and CMYK converted) and kept as bytes; resizing and
 * channel order are the dataset's preprocessing (dataset.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors';
import type { RawSource } from './dataset';

export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

interface Decoded {
  height: number;
  width: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

function isImage(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => byCodePoint(a.name, b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && isImage(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

async function decode(file: string): Promise<Decoded> {
  const { default: sharp } = await import('sharp');
  try {
    const meta = await sharp(file).metadata();
    const grey = (meta.channels ?? 3) <= 2 && meta.space !== 'cmyk';
    const { data, info } = await sharp(file)
      .removeAlpha()
      .toColourspace(grey ? 'b-w' : 'srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 && info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { height: info.height, width: info.width, channels: info.channels, pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    throw new UserError('bad-input', `Image '${file}' cannot be decoded as PNG or JPEG: ${(e as Error).message}.`, { cause: e });
  }
}

/** Reads the folder (decoding at most `limit` images). */
export async function readImageFolder(dir: string, options: { limit?: number } = {}): Promise<RawSource> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('bad-input', `Image folder '${dir}' cannot be read: ${code === 'ENOENT' ? 'it does not exist' : code === 'ENOTDIR' ? 'it is not a folder' : (code ?? (e as Error).message)}.`, { cause: e });
  }
  const classDirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort(byCodePoint);
  const files: string[] = [];
  const fileLabels: number[] = [];
  let classes: string[] | null = null;
  if (classDirs.length > 0) {
    classes = [];
    for (const name of classDirs) {
      const images = listImages(path.join(dir, name));
      if (images.length === 0) continue; // an empty sub-folder is not a class
      const label = classes.length;
      classes.push(name);
      for (const f of images) {
        files.push(f);
        fileLabels.push(label);
      }
    }
    const loose = entries.filter((e) => e.isFile() && isImage(e.name));
    if (loose.length > 0 && files.length > 0) {
      throw new UserError('bad-input', `Image folder '${dir}' has images both in class sub-folders and directly inside it (e.g. '${loose[0].name}'); put every image in its class's sub-folder.`);
    }
    if (files.length === 0) classes = null;
  }
  if (files.length === 0) {
    for (const e of entries.filter((x) => x.isFile() && isImage(x.name)).sort((a, b) => byCodePoint(a.name, b.name))) files.push(path.join(dir, e.name));
  }
  if (files.length === 0) {
    throw new UserError('bad-input', `Image folder '${dir}' holds no PNG or JPEG images (${IMAGE_EXTENSIONS.join(', ')}), neither directly nor in class sub-folders.`);
  }
  const n = options.limit !== undefined ? Math.min(options.limit, files.length) : files.length;
  const decoded: Decoded[] = [];
  const parallel = 4;
  for (let i = 0; i < n; i += parallel) {
    decoded.push(...(await Promise.all(files.slice(i, Math.min(n, i + parallel)).map(decode))));
  }
  const first = decoded[0];
  const shapeOf = (i: number) => [decoded[i].height, decoded[i].width, decoded[i].channels];
  const anyColour = decoded.some((d) => d.channels === 3);
  const sizes = new Set(decoded.map((d) => `${d.height}×${d.width}`));
  return {
    count: n,
    shape: [first.height, first.width, anyColour ? 3 : 1],
    shapeOf,
    image: true,
    pixels: true,
    read(i, out) {
      const p = decoded[i].pixels;
      for (let k = 0; k < p.length; k++) out[k] = p[k];
    },
    labels: classes ? Int32Array.from(fileLabels.slice(0, n)) : null,
    classes,
    description:
      `${n.toLocaleString('en-US')} ${anyColour ? 'colour' : 'grey'} images (${sizes.size === 1 ? first.height + '×' + first.width : 'mixed sizes'}) from ${dir}` +
      (classes ? `, ${classes.length} classes from sub-folder names` : ', no labels'),
    files: files.slice(0, n),
  };
}
