/**
 * The workspace store against a real SQLite file on disk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { WorkspaceStore } from '../../../src/main/store';
import { sha256Hex } from '../../../src/main/store/artifacts';
import { MIGRATIONS } from '../../../src/main/store/migrations';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ql-store-'));

function completedExperiment(store: WorkspaceStore, name: string, bytes: Uint8Array, extra: { tags?: string[]; accuracy?: number } = {}) {
  const id = store.createExperiment({ name, kind: 'eval', config: { n: name }, appVersion: '0.1.0', seed: 7 });
  const a = store.artifacts.put(bytes);
  store.completeExperiment(id, {
    metrics: [{ name: 'accuracy', context: 'float32', value: extra.accuracy ?? 90, unit: '%' }],
    layerMetrics: [{ layerIndex: 0, layerName: 'conv', opType: 'CONV_2D', mode: 'propagated', metric: 'sqnrDb', value: 31.5 }],
    artifacts: [{ ...a, role: 'model', name: `${name}.tflite` }],
  });
  if (extra.tags) store.tagExperiment(id, extra.tags);
  return id;
}

describe('workspace store', () => {
  it('creates quantlab.db in WAL mode with foreign keys on, at the latest schema version', () => {
    const dir = tmp();
    const store = WorkspaceStore.open(dir);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)!.version);
    expect(store.integrityCheck()).toBe('ok');
    store.close();
    expect(fs.existsSync(path.join(dir, 'quantlab.db'))).toBe(true);
  });

  it('stores artifacts content-addressed, once, and verifiable', () => {
    const store = WorkspaceStore.open(tmp());
    const bytes = new TextEncoder().encode('model bytes');
    const a = store.artifacts.put(bytes);
    expect(a.sha256).toBe(sha256Hex(bytes));
    expect(store.artifacts.put(bytes)).toEqual(a);
    expect(fs.readFileSync(store.artifacts.pathOf(a.sha256)).toString()).toBe('model bytes');
    expect(store.artifacts.verify(a.sha256)).toBe(true);
    fs.writeFileSync(store.artifacts.pathOf(a.sha256), 'damaged');
    expect(store.artifacts.verify(a.sha256)).toBe(false);
    store.close();
  });

  it('lists with filter, sort and paging, and resolves id prefixes', () => {
    const store = WorkspaceStore.open(tmp());
    const ids = ['alpha', 'beta', 'gamma', 'delta'].map((n, i) => completedExperiment(store, n, new Uint8Array([i]), { tags: i % 2 ? ['odd'] : [] }));
    const page = store.listExperiments({ sort: 'name', order: 'asc', limit: 2 });
    expect(page.total).toBe(4);
    expect(page.items.map((e) => e.name)).toEqual(['alpha', 'beta']);
    expect(store.listExperiments({ sort: 'name', order: 'asc', limit: 2, offset: 2 }).items.map((e) => e.name)).toEqual(['delta', 'gamma']);
    expect(store.listExperiments({ tag: 'odd' }).items.map((e) => e.name).sort()).toEqual(['beta', 'delta']);
    expect(store.listExperiments({ text: 'amm' }).items.map((e) => e.name)).toEqual(['gamma']);
    expect(store.listExperiments({ text: '%' }).total).toBe(0);
    expect(store.getExperiment(ids[2].slice(0, 8)).name).toBe('gamma');
    expect(() => store.getExperiment('zzzz')).toThrow(/No experiment 'zzzz'/);
    const detail = store.getExperiment(ids[0]);
    expect(detail).toMatchObject({ status: 'completed', seed: 7, appVersion: '0.1.0', config: { n: 'alpha' }, layerMetricCount: 1 });
    expect(detail.metrics).toEqual([{ name: 'accuracy', context: 'float32', value: 90, unit: '%' }]);
    store.close();
  });

  it('tags, notes, and deletes into the trash only what no other experiment uses', () => {
    const store = WorkspaceStore.open(tmp());
    const shared = new TextEncoder().encode('shared model');
    const a = completedExperiment(store, 'a', shared);
    const b = completedExperiment(store, 'b', shared);
    const own = completedExperiment(store, 'c', new TextEncoder().encode('own model'));
    expect(store.noteExperiment(a, 'baseline run').notes).toBe('baseline run');
    expect(store.tagExperiment(a, ['baseline', 'mnist']).tags).toEqual(['baseline', 'mnist']);
    expect(store.tagExperiment(a, [], ['mnist']).tags).toEqual(['baseline']);
    const sharedSha = sha256Hex(shared);
    expect(store.deleteExperiment(a)).toEqual({ id: a, trashedArtifacts: 0 });
    expect(store.artifacts.has(sharedSha)).toBe(true);
    expect(store.deleteExperiment(b).trashedArtifacts).toBe(1);
    expect(store.artifacts.has(sharedSha)).toBe(false);
    expect(fs.existsSync(path.join(store.trashDir, sharedSha))).toBe(true);
    expect(store.listExperiments().items.map((e) => e.id)).toEqual([own]);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM metrics').get()).toEqual({ n: 1 });
    store.close();
  });

  it('migrates a workspace made by an older schema version, keeping its data', () => {
    const dir = tmp();
    // "Older QuantLab": knows only migration 1.
    const old = WorkspaceStore.open(dir, { migrations: MIGRATIONS.slice(0, 1) });
    const id = completedExperiment(old, 'from-v1', new Uint8Array([1, 2, 3]));
    old.close();
    // "Newer QuantLab": one more migration.
    const v2 = { version: 2, description: 'test: a column', sql: "ALTER TABLE experiments ADD COLUMN test_column TEXT NOT NULL DEFAULT 'x';" };
    const store = WorkspaceStore.open(dir, { migrations: [...MIGRATIONS.slice(0, 1), v2] });
    expect(store.db.pragma('user_version', { simple: true })).toBe(2);
    expect(store.getExperiment(id).name).toBe('from-v1');
    expect(store.db.prepare('SELECT test_column FROM experiments WHERE id=?').get(id)).toEqual({ test_column: 'x' });
    store.close();
  });

  it('also opens an empty database file (schema version 0) and migrates it', () => {
    const dir = tmp();
    new Database(path.join(dir, 'quantlab.db')).close();
    const store = WorkspaceStore.open(dir);
    expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)!.version);
    store.close();
  });

  it('refuses a newer-than-known schema with a clear message and leaves the file untouched', () => {
    const dir = tmp();
    WorkspaceStore.open(dir).close();
    const file = path.join(dir, 'quantlab.db');
    const db = new Database(file);
    db.pragma('journal_mode = DELETE');
    db.pragma('user_version = 99');
    db.close();
    const before = fs.readFileSync(file);
    expect(() => WorkspaceStore.open(dir)).toThrow(
      new RegExp(`written by a newer QuantLab \\(schema version 99; this QuantLab knows up to ${MIGRATIONS.at(-1)!.version}\\).*nothing was changed`),
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  it('refuses a file that is not a database', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'quantlab.db'), 'this is not sqlite at all, just text that is long enough to have a header');
    expect(() => WorkspaceStore.open(dir)).toThrow(/is not a QuantLab workspace database/);
  });

  it('on open, marks jobs of dead processes interrupted, keeping their last progress, and leaves live ones alone', () => {
    const dir = tmp();
    const store = WorkspaceStore.open(dir);
    const done = completedExperiment(store, 'done', new Uint8Array([9]));
    const exp = store.createExperiment({ name: 'crashed', kind: 'eval', config: {}, appVersion: '0.1.0' });
    const job = store.createJob('eval', {}, exp);
    store.startJob(job);
    store.updateJobProgress(job, { stage: 'evaluating', done: 40, total: 100, etaMs: 1000 });
    const liveExp = store.createExperiment({ name: 'live', kind: 'eval', config: {}, appVersion: '0.1.0' });
    const live = store.createJob('eval', {}, liveExp);
    store.startJob(live);
    // The crashed job's owner is a pid that no longer exists.
    store.db.prepare('UPDATE jobs SET owner_pid=? WHERE id=?').run(2 ** 22 + 12345, job);
    store.close();
    const reopened = WorkspaceStore.open(dir);
    expect(reopened.getJob(job)).toMatchObject({ status: 'interrupted', stage: 'evaluating', done: 40, total: 100 });
    expect(reopened.getExperiment(exp).status).toBe('interrupted');
    expect(reopened.getJob(live).status).toBe('running');
    expect(reopened.getExperiment(done).status).toBe('completed');
    reopened.close();
  });
});
