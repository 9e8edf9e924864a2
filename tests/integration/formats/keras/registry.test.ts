import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FORMATS, findFormat, openModel, openModelFile } from '../../../../src/core/formats';
import { kerasArchive, kerasH5, keras3WeightsH5 } from '../../../unit/core/formats/keras/fixtures';

const DATA_DIR = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', '..', '..', 'shared', 'keras-mnist');

describe('Keras in the format registry', () => {
  it('is registered with the common skeleton', () => {
    const keras = FORMATS.find((f) => f.id === 'keras');
    expect(keras?.name).toBe('Keras');
    expect(keras?.extensions).toEqual(['.h5', '.hdf5', '.keras']);
  });

  it('is found by its bytes (HDF5, or a zip with config.json) whatever the file is called', async () => {
    const h5 = await kerasH5({ modelConfig: { class_name: 'Sequential', config: { name: 's', layers: [] } }, layers: [] });
    expect(findFormat({ name: 'model.bin', bytes: h5 })?.id).toBe('keras');
    const zip = kerasArchive({ class_name: 'Functional', config: {} }, await keras3WeightsH5([]));
    expect(findFormat({ name: 'model.zip', bytes: zip })?.id).toBe('keras');
    // A broken .keras still reaches the Keras reader through its extension, and gets its sentence.
    await expect(openModel({ name: 'dir/broken.keras', bytes: new Uint8Array(40) })).rejects.toThrow(/^broken\.keras is not a readable zip archive/);
  });

  it.skipIf(!existsSync(DATA_DIR))('opens the real files from disk', async () => {
    for (const [file, ops] of [
      ['k2_seq_cnn.h5', 9],
      ['k3_func_cnn.keras', 8],
    ] as const) {
      const model = await openModelFile(resolve(DATA_DIR, file));
      expect(model.format).toBe('keras');
      expect(model.subgraphs[0].ops.length).toBe(ops);
    }
  });
});
