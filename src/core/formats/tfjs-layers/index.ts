/**
 * The TensorFlow.js layers-model format module: `model.json` + weight shards. `match` looks
 * at model.json's bytes; `open` needs a way to read the shards beside it (`readFile`), and
 * `openTfjsLayersFile` does that from disk.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Model } from '../../ir/types';
import { isTfjsLayersModel, parseModelJson, readTfjsLayers, type TfjsLayersSource } from './reader';

export function matchTfjsLayers(file: { name: string; bytes: Uint8Array }): boolean {
  const json = parseModelJson(file.bytes);
  return json !== undefined && isTfjsLayersModel(json);
}

/** Reads `model.json` at `path` and its shards from the same folder. */
export async function openTfjsLayersFile(path: string): Promise<Model> {
  const folder = dirname(path);
  const bytes = new Uint8Array(await readFile(path));
  return readTfjsLayers({
    name: basename(path),
    bytes,
    readFile: async (relativePath) => new Uint8Array(await readFile(join(folder, relativePath))),
  });
}

export const tfjsLayersFormat = {
  id: 'tfjs-layers' as const,
  name: 'TensorFlow.js layers model',
  extensions: ['.json'],
  match: matchTfjsLayers,
  open: (source: TfjsLayersSource): Promise<Model> => readTfjsLayers(source),
};

export { readTfjsLayers } from './reader';
export type { TfjsLayersSource } from './reader';
