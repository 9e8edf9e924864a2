/**
 * The Keras format module: `.h5` (Keras 2, Keras 3 legacy) and `.keras` (Keras 3 zip).
 * Same skeleton as every format: `match` looks at the bytes, `open` returns an IR Model or
 * throws a ModelFormatError whose sentence names the file and the layer at fault.
 */
import type { Model } from '../../ir/types';
import type { ModelFormatModule, ModelSource } from '../index';
import { looksLikeHdf5 } from './hdf5';
import { readKerasArchive, readKerasH5 } from './reader';
import { looksLikeZip, ZipArchive } from '../../zip/reader';

/** The file to read: its name (quoted in messages) and its bytes. */
export interface KerasModelFile {
  name: string;
  bytes: Uint8Array;
}

/** 'keras.h5' for an HDF5 file, 'keras.zip' for a zip holding config.json, else undefined. */
export function matchKeras(file: KerasModelFile): 'keras.h5' | 'keras.zip' | undefined {
  if (looksLikeHdf5(file.bytes)) return 'keras.h5';
  if (looksLikeZip(file.bytes)) {
    try {
      if (ZipArchive.open(file.bytes, file.name).has('config.json')) return 'keras.zip';
    } catch {
      // not a readable zip: not ours
    }
  }
  return undefined;
}

/** Reads a `.h5` or `.keras` file; messages name the file by its base name. */
export async function openKeras(file: KerasModelFile): Promise<Model> {
  const name = baseName(file.name);
  const kind = matchKeras(file);
  if (kind === 'keras.zip' || (kind === undefined && /\.keras$/i.test(name))) return readKerasArchive(file.bytes, name);
  return readKerasH5(file.bytes, name);
}

export const kerasFormat: ModelFormatModule = {
  id: 'keras',
  name: 'Keras',
  extensions: ['.h5', '.hdf5', '.keras'],
  match: (source: ModelSource): boolean => matchKeras(source) !== undefined,
  open: (source: ModelSource): Promise<Model> => openKeras(source),
};

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
}

export { readKerasArchive, readKerasH5 } from './reader';
export { kerasToGraph, SUPPORTED_LAYER_CLASSES } from './layers';
export type { KerasFlavor, KerasWeight, KerasConvertOptions } from './layers';
export { parseTopology } from './topology';
export type { KerasTopology, KerasLayer, KerasTensorRef } from './topology';
