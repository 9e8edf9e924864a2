/**
 * The model format registry. Every format is one module with the same skeleton
 * (`ModelFormatModule`): a name, the file extensions it claims, `match` (a cheap look at the
 * bytes) and `open` (bytes → IR Model, or a ModelFormatError sentence naming the file). Adding
 * a format costs one folder and one line in FORMATS below.
 */

import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModelFormatError } from '../errors';
import type { Model, ModelFormat } from '../ir/types';
import { kerasFormat } from './keras';
import { tfjsLayersFormat } from './tfjs-layers';
import { tfliteFormat } from './tflite';

/** A model file to open: its name (for messages and extensions), its bytes, and its folder. */
export interface ModelSource {
  /** File name or path, quoted in messages. */
  name: string;
  bytes: Uint8Array;
  /**
   * Reads a file next to this one, by relative path (formats split over several files, such as
   * TF.js weight shards). Absent when the model arrived as a lone buffer.
   */
  readFile?: (relativePath: string) => Promise<Uint8Array>;
}

export interface ModelFormatModule {
  id: ModelFormat;
  /** Human name, e.g. 'TensorFlow Lite'. */
  name: string;
  /** Lower-case extensions with the dot, e.g. ['.tflite']. */
  extensions: readonly string[];
  /** True when the bytes are this format (never throws, reads only a little). */
  match(source: ModelSource): boolean;
  /** Reads the model; throws ModelFormatError (a sentence naming the file) when it cannot. */
  open(source: ModelSource): Promise<Model>;
}

/**
 * Every format QuantLab reads, in the order `match` is tried.
 *
 * ── FORMAT LIST: one line per format ─────────────────────────────────────────────────────────
 *   tflite       src/core/formats/tflite       (registered)
 *   keras        src/core/formats/keras        (registered)
 *   tfjs-layers  src/core/formats/tfjs-layers  (registered)
 */
export const FORMATS: readonly ModelFormatModule[] = [
  tfliteFormat,
  kerasFormat,
  tfjsLayersFormat,
];

function extensionOf(name: string): string {
  const base = basename(name);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/** The format whose `match` accepts the bytes; else the one claiming the extension; else undefined. */
export function findFormat(source: ModelSource, formats: readonly ModelFormatModule[] = FORMATS): ModelFormatModule | undefined {
  for (const f of formats) {
    let matched = false;
    try {
      matched = f.match(source);
    } catch {
      matched = false;
    }
    if (matched) return f;
  }
  const ext = extensionOf(source.name);
  return ext ? formats.find((f) => f.extensions.includes(ext)) : undefined;
}

/** Opens a model of any registered format. */
export async function openModel(source: ModelSource, formats: readonly ModelFormatModule[] = FORMATS): Promise<Model> {
  const format = findFormat(source, formats);
  if (!format) {
    const known = formats.map((f) => `${f.name} (${f.extensions.join(', ')})`).join('; ');
    throw new ModelFormatError(`${source.name} is not a model format QuantLab reads. Supported formats: ${known}.`);
  }
  return format.open(source);
}

/** Opens a model file from disk; sibling files (weight shards) are read from the same folder. */
export async function openModelFile(path: string, formats: readonly ModelFormatModule[] = FORMATS): Promise<Model> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ModelFormatError(`Cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const folder = dirname(path);
  return openModel({ name: path, bytes, readFile: async (rel) => new Uint8Array(await readFile(join(folder, rel))) }, formats);
}
