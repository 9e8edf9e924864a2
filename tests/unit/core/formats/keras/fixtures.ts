/**
 * Writers for Keras-shaped test files: HDF5 through h5wasm (in its in-memory file system) laid
 * out as Keras 2 / Keras 3 write them, and a minimal zip writer (stored or deflated entries) for
 * `.keras` archives. Test-only; the readers under test share no code with these.
 */
import { deflateRawSync } from 'node:zlib';
import h5wasm from 'h5wasm';

export interface FixtureWeight {
  /** Path under the layer group, e.g. 'conv2d/kernel:0' (Keras 2) or 'kernel' (anything). */
  name: string;
  shape: number[];
  data: Float32Array;
}

type H5Group = InstanceType<typeof h5wasm.Group>;

let counter = 0;

async function writeH5(build: (file: InstanceType<typeof h5wasm.File>) => void): Promise<Uint8Array> {
  const module = await h5wasm.ready;
  const path = `/fixture-${++counter}.h5`;
  const file = new h5wasm.File(path, 'w');
  try {
    build(file);
  } finally {
    file.close();
  }
  const bytes = module.FS.readFile(path) as Uint8Array;
  module.FS.unlink(path);
  return new Uint8Array(bytes);
}

function ensureGroup(root: H5Group, path: string): H5Group {
  let g = root;
  for (const part of path.split('/').filter(Boolean)) {
    const existing = g.keys().includes(part) ? g.get(part) : null;
    g = existing instanceof h5wasm.Group ? existing : g.create_group(part);
  }
  return g;
}

function putDataset(root: H5Group, path: string, shape: number[], data: Float32Array): void {
  const parts = path.split('/');
  const name = parts.pop() as string;
  const g = ensureGroup(root, parts.join('/'));
  g.create_dataset({ name, data, shape, dtype: '<f' });
}

function stringList(g: H5Group, name: string, values: string[], fixedLength: boolean): void {
  if (values.length === 0) return; // Keras writes an empty attribute; readers must not need it
  if (fixedLength) {
    const width = Math.max(...values.map((v) => v.length));
    g.create_attribute(name, values, [values.length], `S${width}`);
  } else {
    g.create_attribute(name, values);
  }
}

/**
 * A full-model Keras `.h5`: root attributes model_config / keras_version / backend, weights under
 * `model_weights/<layer>/<weight name>` listed by `weight_names`. `fixedLengthNames` writes the
 * name lists as fixed-length byte strings, as standalone Keras 2.2.4 did.
 */
export function kerasH5(opts: {
  modelConfig?: unknown;
  kerasVersion?: string;
  backend?: string;
  layers: { name: string; weights: FixtureWeight[] }[];
  fixedLengthNames?: boolean;
  /** Write weights at the root (as save_weights does) instead of under model_weights. */
  weightsOnly?: boolean;
}): Promise<Uint8Array> {
  return writeH5((file) => {
    if (opts.modelConfig !== undefined && !opts.weightsOnly) {
      file.create_attribute('model_config', typeof opts.modelConfig === 'string' ? opts.modelConfig : JSON.stringify(opts.modelConfig));
      file.create_attribute('keras_version', opts.kerasVersion ?? '2.4.0');
      file.create_attribute('backend', opts.backend ?? 'tensorflow');
    }
    const mw = opts.weightsOnly ? file : file.create_group('model_weights');
    stringList(mw, 'layer_names', opts.layers.map((l) => l.name), !!opts.fixedLengthNames);
    mw.create_attribute('keras_version', opts.kerasVersion ?? '2.4.0');
    mw.create_attribute('backend', opts.backend ?? 'tensorflow');
    for (const layer of opts.layers) {
      const g = mw.create_group(layer.name);
      stringList(g, 'weight_names', layer.weights.map((w) => w.name), !!opts.fixedLengthNames);
      for (const w of layer.weights) putDataset(g, w.name, w.shape, w.data);
    }
  });
}

/**
 * A Keras 3 `model.weights.h5`: `layers/<generic name>/vars/<i>`; `recordName` adds the `name`
 * attribute Keras 3.8 puts on each `vars` group.
 */
export function keras3WeightsH5(groups: { path: string; layerName?: string; vars: FixtureWeight[] }[], recordName = true): Promise<Uint8Array> {
  return writeH5((file) => {
    ensureGroup(file, 'layers');
    for (const g of groups) {
      const vars = ensureGroup(file, `${g.path}/vars`);
      if (recordName && g.layerName) vars.create_attribute('name', g.layerName);
      g.vars.forEach((w, i) => vars.create_dataset({ name: String(i), data: w.data, shape: w.shape, dtype: '<f' }));
    }
    ensureGroup(file, 'vars');
  });
}

// ---- zip ----------------------------------------------------------------------------------------

export interface ZipFixtureEntry {
  name: string;
  data: Uint8Array;
  /** 0 stored (default), 8 deflated, anything else is written as is (to test refusals). */
  method?: number;
  flags?: number;
  /** Overrides the CRC written in both headers. */
  crc?: number;
}

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** A plain (non-ZIP64) zip archive. */
export function zipArchive(entries: ZipFixtureEntry[], comment = ''): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const method = e.method ?? 0;
    const body = method === 8 ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const crc = e.crc ?? crc32(e.data);
    const local = new Uint8Array(30 + name.length + body.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, e.flags ?? 0, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    local.set(body, 30 + name.length);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, e.flags ?? 0, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const cdSize = centrals.reduce((a, c) => a + c.length, 0);
  const commentBytes = enc.encode(comment);
  const eocd = new Uint8Array(22 + commentBytes.length);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  ev.setUint16(20, commentBytes.length, true);
  eocd.set(commentBytes, 22);
  const out = new Uint8Array(offset + cdSize + eocd.length);
  let p = 0;
  for (const part of [...locals, ...centrals, eocd]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** A `.keras` archive from its three parts. */
export function kerasArchive(config: unknown, weightsH5: Uint8Array | undefined, kerasVersion = '3.8.0'): Uint8Array {
  const enc = new TextEncoder();
  const entries: ZipFixtureEntry[] = [
    { name: 'metadata.json', data: enc.encode(JSON.stringify({ keras_version: kerasVersion, date_saved: '2025-01-01@00:00:00' })) },
    { name: 'config.json', data: enc.encode(JSON.stringify(config)), method: 8 },
  ];
  if (weightsH5) entries.push({ name: 'model.weights.h5', data: weightsH5 });
  return zipArchive(entries);
}

/** Seeded values in [-0.5, 0.5). */
export function seeded(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  }
  return out;
}
