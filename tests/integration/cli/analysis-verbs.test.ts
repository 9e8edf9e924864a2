/**
 * `quantlab analyze` as a user runs it: real processes, a real workspace.
 * The numbers themselves are checked in tests/unit/core/analysis and tests/integration/analysis;
 * here the verbs' contract: JSON fields, the experiment and its layer-metrics rows, the artifact.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERAS_CNN, quantlab, workspaceRows } from '../../helpers/cli';
import { openDataset } from '../../../src/core/data/dataset';
import { openModelFile } from '../../../src/core/formats';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import { defaultPtqOptions, quantizeModel } from '../../../src/core/quant/ptq';

const rows = workspaceRows;

describe('analysis verbs', () => {
  it('analyze: both modes per layer in --json, and the rows in the layer-metrics table', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-analyze-'));
    const ws = path.join(dir, 'ws');
    const model = await openModelFile(KERAS_CNN);
    const calib = await openDataset('mnist:train@32', { inputShape: [1, 28, 28, 1] });
    const { model: q } = await quantizeModel(model, { ...calib, name: calib.spec }, defaultPtqOptions({ samples: 32 }));
    const qFile = path.join(dir, 'cnn-int8.tflite');
    fs.writeFileSync(qFile, writeTflite(q));
    const r = quantlab(['--workspace', ws, '--json', 'analyze', KERAS_CNN, qFile, '--data', 'mnist:test', '--samples', '20']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { experimentId: string; data: string; samples: number; layers: { layer: string; op: string; propagated: { sqnrDb: number }; isolated: { sqnrDb: number } | null }[] };
    expect(j.data).toBe('mnist:test@20');
    expect(j.samples).toBe(20);
    const conv = j.layers.find((l) => l.op === 'CONV_2D')!;
    expect(conv.propagated.sqnrDb).toBeGreaterThan(30);
    expect(conv.isolated!.sqnrDb).toBeGreaterThan(30);
    const modes = rows(ws, `SELECT DISTINCT mode FROM layer_metrics WHERE experiment_id = '${j.experimentId}' ORDER BY mode`).map((x) => x.mode);
    expect(modes).toEqual(['cost', 'isolated', 'propagated', 'weights']);
    const perChannel = rows(ws, `SELECT COUNT(*) AS n FROM layer_metrics WHERE experiment_id = '${j.experimentId}' AND mode = 'weights' AND metric = 'scale' AND channel >= 0`)[0].n;
    expect(perChannel).toBe(30 + 15 + 128 + 50 + 10); // one scale per output channel of every linear op
    const arts = rows(ws, `SELECT role FROM experiment_artifacts WHERE experiment_id = '${j.experimentId}'`).map((x) => x.role);
    expect(arts).toContain('layer-analysis');
  }, 300_000);
});
