/**
 * `quantlab demo`, the README's first command: runs offline on the shipped model and built-in
 * digits, records every step, exports int8 files that the real TFLite interpreter runs.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMnistSplit } from '../../../src/core/data/mnist';
import type { DemoRow } from '../../../src/cli/commands/demo';
import { loadOracle } from '../../helpers/tflite-oracle';

const BIN = path.resolve(__dirname, '../../../bin/quantlab.mjs');


describe('quantlab demo', () => {
  it('evaluates float, two int8 PTQ models and a QAT model, exports them, and records each as an experiment', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-demo-'));
    const r = spawnSync(process.execPath, [BIN, '--workspace', ws, 'demo', '--json'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      workspace: string;
      rows: DemoRow[];
      seconds: number;
      best: { experimentId: string; worst: { layer: string; sqnrDb: number } | null; preflight: { delegate: string; summary: string }[] } | null;
    };
    expect(out.workspace).toBe(ws);
    expect(out.rows.map((x) => x.precision)).toEqual(['float32', 'int8', 'int8', 'int8']);
    expect(out.rows[3].method).toMatch(/^QAT int8/);
    const [float, ...int8] = out.rows;
    expect(float.accuracy).toBeGreaterThan(0.9);
    for (const row of int8) {
      expect(row.accuracy).not.toBeNull();
      // The bar: per-channel int8 with 500 calibration images loses at most 0.2 points.
      expect((row.accuracy ?? 0) * 100).toBeGreaterThanOrEqual((float.accuracy ?? 0) * 100 - 0.2);
      expect(row.sizeBytes).toBeLessThanOrEqual(0.3 * float.sizeBytes);
      expect(row.output && fs.statSync(row.output).size).toBe(row.sizeBytes);
    }
    // Every row is an experiment in the workspace's database, completed.
    const db = new Database(path.join(ws, 'quantlab.db'), { readonly: true });
    const ids = (db.prepare("SELECT e.id AS id FROM experiments e JOIN jobs j ON j.experiment_id = e.id WHERE j.status = 'completed'").all() as { id: string }[]).map((x) => x.id);
    // The best int8 model's per-layer analysis (layer metrics rows) and pre-flight (artifacts) are recorded with it.
    expect(out.best?.preflight.map((p) => p.delegate)).toEqual(['nnapi', 'gpu']);
    expect(out.best?.worst?.sqnrDb).toBeGreaterThan(20);
    const layerRows = db.prepare('SELECT COUNT(*) AS n FROM layer_metrics WHERE experiment_id = ?').get(out.best?.experimentId) as { n: number };
    expect(layerRows.n).toBeGreaterThan(10);
    const roles = (db.prepare('SELECT role FROM experiment_artifacts WHERE experiment_id = ?').all(out.best?.experimentId) as { role: string }[]).map((x) => x.role);
    expect(roles).toEqual(expect.arrayContaining(['layer-analysis', 'preflight', 'quantized-model']));
    db.close();
    expect(ids.sort()).toEqual(out.rows.map((x) => x.experimentId).sort());
    // The exported int8 model's top-1 on a few test digits, in the real TFLite interpreter, agrees with its recorded accuracy's model.
    const oracle = await loadOracle();
    const bytes = new Uint8Array(fs.readFileSync(int8[0].output as string));
    const test = loadMnistSplit('test');
    let correct = 0;
    const n = 200;
    for (let i = 0; i < n; i++) {
      const logits = oracle.run(bytes, [test.images.slice(i * 784, (i + 1) * 784)]).outputs[0] as Float32Array;
      let best = 0;
      for (let k = 1; k < 10; k++) if (logits[k] > logits[best]) best = k;
      if (best === test.labels[i]) correct++;
    }
    expect(correct / n).toBeGreaterThan(0.85);
  }, 300_000);
});
