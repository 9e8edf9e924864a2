/**
 * `quantlab search` as a user runs it: real processes, a real workspace.
 * The numbers themselves are checked in tests/unit/core/analysis and tests/integration/analysis;
 * here the verbs' contract: JSON fields, the experiment and its layer-metrics rows, the output file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERAS_CNN, quantlab, workspaceRows } from '../../helpers/cli';
import { readTflite } from '../../../src/core/formats/tflite/reader';

const rows = workspaceRows;

describe('search verb', () => {
  it('search: writes the chosen model and says how many evaluations it used', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-search-'));
    const ws = path.join(dir, 'ws');
    const out = path.join(dir, 'mixed.tflite');
    const r = quantlab(['--workspace', ws, '--json', 'search', KERAS_CNN, '--calib', 'mnist:train', '--samples', '32', '--data', 'mnist:test', '--eval-samples', '100', '--budget', '0.3', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { experimentId: string; met: boolean; evaluations: number; layers: number; sizeBytes: number; keepFloat: string[] };
    expect(j.met).toBe(true);
    expect(j.evaluations).toBeLessThan(3 * j.layers);
    expect(fs.statSync(out).size).toBe(j.sizeBytes);
    readTflite(new Uint8Array(fs.readFileSync(out)), 'mixed.tflite');
    const kept = rows(ws, `SELECT layer_name, value FROM layer_metrics WHERE experiment_id = '${j.experimentId}' AND mode = 'search'`);
    expect(kept.length).toBe(j.layers);
    expect(kept.filter((k) => k.value === 1).map((k) => k.layer_name).sort()).toEqual([...j.keepFloat].sort());
    // Bad target: refused before any experiment exists.
    const bad = quantlab(['--workspace', ws, 'search', KERAS_CNN, '--calib', 'mnist:train', '--data', 'mnist:test', '--out', out]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Give the target: --budget POINTS/);
  }, 300_000);
});
