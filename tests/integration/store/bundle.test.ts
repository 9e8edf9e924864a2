/**
 * Export / import of experiment bundles between two real workspaces, and tampered bundles that
 * must be refused without writing anything.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkspaceStore } from '../../../src/main/store';
import { exportBundle, importBundle, MANIFEST } from '../../../src/main/store/bundle';
import { ZipArchive } from '../../../src/core/zip/reader';
import { writeZip } from '../../../src/core/zip/writer';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ql-bundle-'));

function makeSource() {
  const store = WorkspaceStore.open(tmp());
  const model = store.addModel({ bytes: new TextEncoder().encode('a tflite model'), name: 'm.tflite', format: 'tflite', sourcePath: '/x/m.tflite' });
  const dataset = store.addDataset({ spec: 'mnist@100', sha256: 'ab'.repeat(32), sampleCount: 100 });
  const ids: string[] = [];
  for (const n of ['one', 'two']) {
    const id = store.createExperiment({ name: n, kind: 'eval', config: { n }, appVersion: '0.1.0', seed: 3, modelId: model.id, datasetId: dataset.id });
    const pred = store.artifacts.put(new TextEncoder().encode(`predictions of ${n}`));
    store.completeExperiment(id, {
      metrics: [{ name: 'accuracy', context: 'float32', value: n === 'one' ? 91.5 : 92.25, unit: '%' }],
      layerMetrics: [{ layerIndex: 2, layerName: 'dense', opType: 'FULLY_CONNECTED', mode: 'isolated', metric: 'sqnrDb', channel: 4, value: 28.125 }],
      artifacts: [
        { sha256: model.sha256, sizeBytes: 14, role: 'model', name: 'm.tflite' },
        { ...pred, role: 'predictions', name: 'p.int32' },
      ],
    });
    store.tagExperiment(id, ['exported']);
    store.noteExperiment(id, `notes of ${n}`);
    ids.push(id);
  }
  return { store, ids };
}

/** A snapshot of everything a workspace holds, to prove a refused import wrote nothing. */
function snapshot(store: WorkspaceStore): string {
  const tables = ['experiments', 'models', 'datasets', 'metrics', 'layer_metrics', 'experiment_tags', 'experiment_artifacts', 'artifacts'];
  const rows = tables.map((t) => JSON.stringify(store.db.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()));
  const files = fs.existsSync(store.artifacts.root) ? fs.readdirSync(store.artifacts.root, { recursive: true }).map(String).sort() : [];
  return JSON.stringify([rows, files]);
}

/** Rewrites a bundle with `change` applied to its entries. */
function tamper(file: string, change: (entries: { name: string; bytes: Uint8Array }[]) => { name: string; bytes: Uint8Array }[]): string {
  const zip = ZipArchive.open(new Uint8Array(fs.readFileSync(file)), 'b.zip');
  const entries = [...zip.entries.keys()].map((name) => ({ name, bytes: zip.read(name) }));
  const out = path.join(tmp(), 'tampered.zip');
  fs.writeFileSync(out, writeZip(change(entries)));
  return out;
}

describe('experiment bundles', () => {
  it('export then import reproduces experiments, metrics, tags, notes, models and artifacts exactly', () => {
    const { store, ids } = makeSource();
    const file = path.join(tmp(), 'bundle.zip');
    const r = exportBundle(store, ids, file, '0.1.0');
    expect(r).toMatchObject({ experiments: 2, artifacts: 3 });
    const target = WorkspaceStore.open(tmp());
    expect(importBundle(target, file)).toEqual({ imported: ids, skipped: [], artifacts: 3 });
    for (const id of ids) {
      const a = store.getExperiment(id);
      const b = target.getExperiment(id);
      expect({ ...b, model: { ...b.model, id: 'x' }, dataset: { ...b.dataset, id: 'x' } }).toEqual({ ...a, model: { ...a.model, id: 'x' }, dataset: { ...a.dataset, id: 'x' } });
      for (const art of b.artifacts) expect(target.artifacts.verify(art.sha256)).toBe(true);
    }
    expect(target.db.prepare('SELECT layer_name, channel, value FROM layer_metrics ORDER BY experiment_id').all()).toEqual([
      { layer_name: 'dense', channel: 4, value: 28.125 },
      { layer_name: 'dense', channel: 4, value: 28.125 },
    ]);
    // Importing again changes nothing.
    const before = snapshot(target);
    expect(importBundle(target, file)).toEqual({ imported: [], skipped: ids, artifacts: 3 });
    expect(snapshot(target)).toBe(before);
  });

  it('refuses tampered bundles and writes nothing', () => {
    const { store, ids } = makeSource();
    const file = path.join(tmp(), 'bundle.zip');
    exportBundle(store, ids, file, '0.1.0');
    const target = WorkspaceStore.open(tmp());
    const before = snapshot(target);
    const enc = new TextEncoder();

    const altered = tamper(file, (es) => es.map((e) => (e.name.startsWith('artifacts/') && e.bytes.length > 14 ? { ...e, bytes: enc.encode('predictions of 0ne') } : e)));
    expect(() => importBundle(target, altered)).toThrow(/does not match its hash.*nothing was imported/);

    const traversal = tamper(file, (es) => [...es, { name: '../../etc/cron.d/evil', bytes: enc.encode('x') }]);
    expect(() => importBundle(target, traversal)).toThrow(/entry '..\/..\/etc\/cron.d\/evil' is not part of a QuantLab bundle.*; nothing was imported/);

    const absolute = tamper(file, (es) => es.map((e, i) => (i === 1 ? { ...e, name: '/tmp/evil' } : e)));
    expect(() => importBundle(target, absolute)).toThrow(/entry '\/tmp\/evil' is not part of a QuantLab bundle/);

    // An entry whose directory record declares 3 GiB (a zip bomb's first line).
    const bomb = fs.readFileSync(file);
    const zip = ZipArchive.open(new Uint8Array(bomb), 'b.zip');
    const victim = [...zip.entries.keys()].find((n) => n.startsWith('artifacts/'))!;
    // The central directory's copy of the name is the last one; its record starts 46 bytes before.
    const cd = bomb.lastIndexOf(Buffer.from(victim, 'utf8')) - 46;
    expect(bomb.readUInt32LE(cd)).toBe(0x02014b50);
    bomb.writeUInt32LE(3 * 2 ** 30, cd + 24);
    const bombFile = path.join(tmp(), 'bomb.zip');
    fs.writeFileSync(bombFile, bomb);
    expect(() => importBundle(target, bombFile)).toThrow(/declares 3221225472 bytes, over the 2147483648-byte limit; nothing was imported/);

    const unlisted = tamper(file, (es) => es.map((e) => (e.name === MANIFEST ? { ...e, bytes: enc.encode(new TextDecoder().decode(e.bytes).replace('"artifacts": [', '"artifacts": [{"sha256": "' + '0'.repeat(64) + '", "sizeBytes": 1},')) } : e)));
    expect(() => importBundle(target, unlisted)).toThrow(/artifact 0{64} is listed but missing/);

    const badColumn = tamper(file, (es) => es.map((e) => (e.name === MANIFEST ? { ...e, bytes: enc.encode(new TextDecoder().decode(e.bytes).replace('"notes":', '"notes); DROP TABLE experiments; --":')) } : e)));
    expect(() => importBundle(target, badColumn)).toThrow(/unknown column/);

    const truncated = path.join(tmp(), 'truncated.zip');
    fs.writeFileSync(truncated, fs.readFileSync(file).subarray(0, 100));
    expect(() => importBundle(target, truncated)).toThrow(/nothing was imported/);

    expect(snapshot(target)).toBe(before);
  });
});
