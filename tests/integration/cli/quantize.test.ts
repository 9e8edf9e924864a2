/**
 * `quantlab quantize` as a user runs it: a real process, a real workspace (SQLite file), a real
 * model file written next to nothing half-done. The arithmetic itself is checked against the
 * TFLite interpreter in tests/integration/quant/ptq.test.ts; here the verb's contract.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { KERAS_CNN, quantlab, workspaceRows } from '../../helpers/cli';
import { loadOracle } from '../../helpers/tflite-oracle';

function experimentsIn(ws: string): { name: string; status: string }[] {
  if (!fs.existsSync(path.join(ws, 'quantlab.db'))) return [];
  return workspaceRows(ws, 'SELECT e.name AS name, j.status AS status FROM experiments e LEFT JOIN jobs j ON j.experiment_id = e.id') as { name: string; status: string }[];
}

describe('quantlab quantize', () => {
  it('writes the int8 model, prints the JSON the issue asks for, and records it (file equals the stored artifact)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-quantize-'));
    const ws = path.join(dir, 'ws');
    const out = path.join(dir, 'cnn-int8.tflite');
    const r = quantlab(['--workspace', ws, 'quantize', KERAS_CNN, '--calib', 'mnist:train', '--samples', '64', '--out', out, '--calibration', 'percentile:99.99', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of ['output', 'sizeBytes', 'floatSizeBytes', 'recipe', 'calibration', 'samples', 'seconds']) expect(j).toHaveProperty(key);
    expect(j.output).toBe(out);
    expect(j.recipe).toBe('int8');
    expect(j.calibration).toBe('percentile:99.99');
    expect(j.samples).toBe(64);
    const bytes = fs.readFileSync(out);
    expect(j.sizeBytes).toBe(bytes.length);
    expect(bytes.length).toBeLessThanOrEqual(0.3 * (j.floatSizeBytes as number));
    expect(fs.readdirSync(dir).sort()).toEqual(['cnn-int8.tflite', 'ws']);
    // The artifact under its hash is the same file.
    const sha = crypto.createHash('sha256').update(bytes).digest('hex');
    expect(fs.existsSync(path.join(ws, 'artifacts', sha.slice(0, 2), sha))).toBe(true);
    // It is a valid int8 model for the real interpreter.
    const model = readTflite(new Uint8Array(bytes), 'cnn-int8.tflite');
    expect(model.subgraphs[0].tensors.some((t) => t.dtype === 'int8' && t.data !== undefined)).toBe(true);
    const oracle = await loadOracle();
    const info = oracle.describe(new Uint8Array(bytes));
    expect(info.inputs[0].dataType).toBe('float32');
    const runs = experimentsIn(ws);
    expect(runs).toHaveLength(1);
    expect(runs[0].status).toBe('completed');
    // The recorded calibration dataset is exactly the 64 samples used.
    const specs = workspaceRows(ws, 'SELECT spec, sample_count AS n FROM datasets');
    expect(specs).toEqual([{ spec: 'mnist:train@64', n: 64 }]);
  }, 300_000);

  it('refuses bad input with one sentence, leaving no output file and no temporary file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-quantize-bad-'));
    const ws = path.join(dir, 'ws');
    const out = path.join(dir, 'x.tflite');
    // No calibration data for an integer recipe: refused before any experiment exists.
    let r = quantlab(['--workspace', ws, 'quantize', KERAS_CNN, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs calibration data: give --calib/);
    expect(experimentsIn(ws)).toEqual([]);
    // Unknown calibration method and recipe: usage errors naming the value.
    r = quantlab(['--workspace', ws, 'quantize', KERAS_CNN, '--calib', 'mnist:train', '--out', out, '--calibration', 'entropyy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/'entropyy'/);
    r = quantlab(['--workspace', ws, 'quantize', KERAS_CNN, '--calib', 'mnist:train', '--out', out, '--recipe', 'int4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Recipe 'int4' is not known/);
    // A layer name that does not exist: named in the error; the job is recorded as failed, no file.
    r = quantlab(['--workspace', ws, 'quantize', KERAS_CNN, '--calib', 'mnist:train@16', '--out', out, '--keep-float', 'dense_7']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--keep-float names 'dense_7'/);
    // Calibration data of the wrong shape: names the dataset, the input and both shapes.
    const npy = path.join(dir, 'wrong.npy');
    fs.writeFileSync(npy, npyFloat32([3, 5, 5]));
    r = quantlab(['--workspace', ws, 'quantize', KERAS_CNN, '--calib', `npy:${npy}`, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wrong\.npy.*\[5, 5\].*conv2d_input/s);
    expect(fs.readdirSync(dir).sort()).toEqual(['wrong.npy', 'ws']);
  }, 300_000);
});

/** A minimal .npy (v1.0, little-endian float32) written here, independently of QuantLab's writer. */
function npyFloat32(shape: number[]): Buffer {
  const n = shape.reduce((a, b) => a * b, 1);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) data.writeFloatLE((i % 7) / 7, i * 4);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}
