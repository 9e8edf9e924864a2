/**
 * The TensorFlow Lite format module: `.tflite` flatbuffers (identifier "TFL3"), read and written.
 */

import type { Model } from '../../ir/types';
import { isTfliteBytes, readTflite } from './reader';

export const tfliteFormat = {
  id: 'tflite' as const,
  name: 'TensorFlow Lite',
  extensions: ['.tflite', '.lite'] as readonly string[],
  match: (source: { name: string; bytes: Uint8Array }): boolean => isTfliteBytes(source.bytes),
  open: async (source: { name: string; bytes: Uint8Array }): Promise<Model> => readTflite(source.bytes, baseName(source.name)),
};

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
}

export { readTflite, isTfliteBytes, TFLITE_FILE_IDENTIFIER, TFLITE_SCHEMA_VERSION, MAX_TENSOR_ELEMENTS } from './reader';
export { writeTflite } from './writer';
export { requiredOpVersion, writtenOpVersion } from './versions';
