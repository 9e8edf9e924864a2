/**
 * The experiment verbs as a user runs them: a computing verb records an experiment and prints its
 * id; experiments / show / tag / note / export / import / delete work on it from the CLI.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = path.resolve(__dirname, '../../../bin/quantlab.mjs');
const MODEL = path.resolve(__dirname, '../../../node_modules/@mediapipe/face_detection/face_detection_short_range.tflite');

function quantlab(ws: string, args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--workspace', ws, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const json = (ws: string, args: string[]) => {
  const r = quantlab(ws, ['--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe('experiments from the CLI', () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-exp-'));

  it('eval records an experiment traceable to model hash, dataset hash, config and version', () => {
    const out = json(ws, ['eval', MODEL, '--data', 'random:3', '--seed', '5', '--name', 'face on noise']);
    expect(out.experimentId).toMatch(/^[0-9a-f]{12}$/);
    expect(out.samples).toBe(3);
    const list = json(ws, ['experiments']);
    expect(list.total).toBe(1);
    const shown = json(ws, ['experiments', 'show', out.experimentId.slice(0, 6)]);
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8'));
    expect(shown).toMatchObject({ id: out.experimentId, name: 'face on noise', kind: 'eval', status: 'completed', seed: 5, appVersion: pkg.version });
    expect(shown.model.sha256).toBe(crypto.createHash('sha256').update(fs.readFileSync(MODEL)).digest('hex'));
    expect(shown.dataset).toMatchObject({ spec: 'random:3', sampleCount: 3 });
    expect(shown.dataset.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(shown.config).toMatchObject({ verb: 'eval', data: 'random:3', seed: 5 });
    expect(shown.metrics.map((m: { name: string }) => m.name)).toContain('latency');
    // Same seed, same inputs: the dataset hash is reproducible.
    const again = json(ws, ['eval', MODEL, '--data', 'random:3', '--seed', '5']);
    expect(json(ws, ['experiments', 'show', again.experimentId]).dataset.sha256).toBe(shown.dataset.sha256);
  });

  it('tag, note, export, import and delete', () => {
    const [first] = json(ws, ['experiments', '--limit', '1', '--search', 'face on noise']).items;
    expect(json(ws, ['experiments', 'tag', first.id, 'baseline', 'noise']).tags).toEqual(['baseline', 'noise']);
    expect(json(ws, ['experiments', 'note', first.id, 'random inputs, float32']).notes).toBe('random inputs, float32');
    expect(json(ws, ['experiments', '--tag', 'baseline']).items.map((e: { id: string }) => e.id)).toEqual([first.id]);

    const bundle = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ql-b-')), 'b.zip');
    expect(json(ws, ['export', first.id, '--out', bundle])).toMatchObject({ experiments: 1 });
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-other-'));
    expect(json(other, ['import', bundle]).imported).toEqual([first.id]);
    const imported = json(other, ['experiments', 'show', first.id]);
    expect(imported).toMatchObject({ tags: ['baseline', 'noise'], notes: 'random inputs, float32', status: 'completed' });

    expect(json(ws, ['experiments', 'delete', first.id])).toMatchObject({ id: first.id });
    const r = quantlab(ws, ['experiments', 'show', first.id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^quantlab: No experiment '[0-9a-f]+' in the workspace/);
  });

  it('a model that cannot be read is refused before anything is recorded', () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-bad-'));
    const r = quantlab(fresh, ['eval', path.join(fresh, 'missing.tflite')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(json(fresh, ['experiments']).total).toBe(0);
  });
});
