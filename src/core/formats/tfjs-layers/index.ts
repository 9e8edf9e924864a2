/**
 * The TensorFlow.js layers-model format module: `model.json` + weight shards. `match` looks
 * at model.json's bytes; `open` needs a way to read the shards beside it (`readFile`), and
 * `openTfjsLayersFile` does that from disk.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModelFormatError } from '../../errors';
import type { Model } from '../../ir/types';
import type { ModelFormatModule, ModelSource } from '../index';
import { isTfjsLayersModel, parseModelJson, readTfjsLayers } from './reader';

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

export const tfjsLayersFormat: ModelFormatModule = {
  id: 'tfjs-layers',
  name: 'TensorFlow.js layers model',
  extensions: ['.json'],
  match: matchTfjsLayers,
  open: (source: ModelSource): Promise<Model> => {
    const name = basename(source.name);
    const readShard = source.readFile;
    if (!readShard) {
      return Promise.reject(
        new ModelFormatError(`${name} is a TensorFlow.js model.json whose weights sit in separate shard files; open it from its folder so QuantLab can read them.`),
      );
    }
    return readTfjsLayers({ name, bytes: source.bytes, readFile: readShard });
  },
};

export { readTfjsLayers } from './reader';
export type { TfjsLayersSource } from './reader';
