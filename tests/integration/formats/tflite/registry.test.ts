import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../../../src/core/errors';
import { FORMATS, findFormat, openModel, openModelFile, type ModelFormatModule } from '../../../../src/core/formats';
import { FACE_SHORT, readBytes } from './test-utils';

describe('format registry', () => {
  it('lists TFLite with the common skeleton', () => {
    const tflite = FORMATS.find((f) => f.id === 'tflite') as ModelFormatModule;
    expect(tflite.name).toBe('TensorFlow Lite');
    expect(tflite.extensions).toContain('.tflite');
    expect(typeof tflite.match).toBe('function');
    expect(typeof tflite.open).toBe('function');
  });

  it('finds TFLite by its bytes whatever the file is called', async () => {
    const bytes = readBytes(FACE_SHORT);
    expect(findFormat({ name: 'weird.bin', bytes })?.id).toBe('tflite');
    const model = await openModel({ name: 'weird.bin', bytes });
    expect(model.format).toBe('tflite');
    expect(model.subgraphs[0].ops.length).toBe(164);
  });

  it('opens a file from disk', async () => {
    const model = await openModelFile(FACE_SHORT);
    expect(model.subgraphs[0].tensors.length).toBe(250);
  });

  it('falls back to the extension, so a broken .tflite gets the TFLite reader’s sentence', async () => {
    await expect(openModel({ name: 'broken.tflite', bytes: new Uint8Array(12) })).rejects.toThrow(/^broken\.tflite: the file identifier is/);
  });

  it('says which formats it knows when nothing matches', async () => {
    const source = { name: 'notes.txt', bytes: new TextEncoder().encode('hello') };
    await expect(openModel(source)).rejects.toThrow(ModelFormatError);
    await expect(openModel(source)).rejects.toThrow(/^notes\.txt is not a model format QuantLab reads\. Supported formats: TensorFlow Lite \(\.tflite, \.lite\)/);
    await expect(openModelFile('/nonexistent/model.tflite')).rejects.toThrow(/^Cannot read \/nonexistent\/model\.tflite/);
  });
});
