/**
 * The workspace: `quantlab.db` + `artifacts/`. The only room that opens the database. Every
 * computing verb persists through here; each completion is one transaction, so after a crash a
 * job is either completed with all of its results or not completed at all.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../core/errors';
import type {
  ArtifactRef,
  ExperimentDetail,
  ExperimentListRequest,
  ExperimentPage,
  ExperimentSummary,
  JobDetail,
  JobSummary,
  Metric,
} from '../../shared/api/contract';
import { ArtifactStore, processAlive } from './artifacts';
import { openDatabase, type Db, type OpenOptions } from './database';

export type ExperimentStatus = ExperimentSummary['status'];
export type JobStatus = JobSummary['status'];

export interface NewExperiment {
  name: string;
  kind: string;
  config: unknown;
  appVersion: string;
  seed?: number | null;
  roundingMode?: string | null;
  modelId?: string | null;
  datasetId?: string | null;
}

export interface LayerMetricRow {
  layerIndex: number;
  layerName: string;
  opType: string;
  mode?: string;
  metric: string;
  channel?: number;
  value: number;
}

export interface ExperimentResults {
  metrics?: Metric[];
  layerMetrics?: LayerMetricRow[];
  /** Artifacts already written to the artifact store. */
  artifacts?: { sha256: string; sizeBytes: number; role: string; name: string }[];
}

const now = () => new Date().toISOString();
export const newId = () => crypto.randomBytes(6).toString('hex');
/** A job whose owner has not written a heartbeat for this long is considered dead. */
export const HEARTBEAT_STALE_MS = 60_000;

interface ExperimentRow {
  id: string;
  name: string;
  kind: string;
  status: ExperimentStatus;
  notes: string;
  config_json: string;
  app_version: string;
  seed: number | null;
  rounding_mode: string | null;
  model_id: string | null;
  dataset_id: string | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  model_sha256: string | null;
  dataset_sha256: string | null;
}

interface JobRow {
  id: string;
  kind: string;
  status: JobStatus;
  experiment_id: string | null;
  params_json: string;
  stage: string;
  done: number;
  total: number | null;
  eta_ms: number | null;
  owner_pid: number | null;
  heartbeat_at: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export class WorkspaceStore {
  readonly db: Db;
  readonly artifacts: ArtifactStore;
  readonly dir: string;

  private constructor(dir: string, db: Db) {
    this.dir = dir;
    this.db = db;
    this.artifacts = new ArtifactStore(dir);
  }

  /** Opens (creating and migrating as needed) and recovers from any crash of an earlier process. */
  static open(workspaceDir: string, options: OpenOptions = {}): WorkspaceStore {
    const store = new WorkspaceStore(path.resolve(workspaceDir), openDatabase(workspaceDir, options));
    store.recover();
    return store;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get trashDir(): string {
    return path.join(this.dir, 'trash');
  }

  /**
   * Jobs left `queued`/`running` by a process that no longer exists become `interrupted` (their last
   * progress kept), and so do their experiments. Jobs of live processes (another QuantLab on the
   * same workspace) are left alone. Completed results are never touched.
   */
  recover(): { interrupted: number } {
    const staleBefore = new Date(Date.now() - HEARTBEAT_STALE_MS).toISOString();
    const rows = this.db.prepare(`SELECT id, experiment_id, owner_pid, heartbeat_at FROM jobs WHERE status IN ('queued','running')`).all() as Pick<
      JobRow,
      'id' | 'experiment_id' | 'owner_pid' | 'heartbeat_at'
    >[];
    const dead = rows.filter(
      (r) => r.owner_pid === null || !processAlive(r.owner_pid) || (r.owner_pid !== process.pid && (r.heartbeat_at ?? '') < staleBefore),
    );
    if (dead.length) {
      const at = now();
      const markJob = this.db.prepare(`UPDATE jobs SET status='interrupted', finished_at=?, error=COALESCE(error, ?) WHERE id=? AND status IN ('queued','running')`);
      const markExp = this.db.prepare(`UPDATE experiments SET status='interrupted', finished_at=? WHERE id=? AND status='running'`);
      this.db.transaction(() => {
        for (const r of dead) {
          markJob.run(at, 'The process running this job ended before it finished.', r.id);
          if (r.experiment_id) markExp.run(at, r.experiment_id);
        }
      })();
    }
    // An experiment still `running` with no job at all can only come from a crash of an older
    // QuantLab (the runner creates both in one transaction).
    const orphans = this.db
      .prepare(`UPDATE experiments SET status='interrupted', finished_at=? WHERE status='running' AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.experiment_id = experiments.id)`)
      .run(now()).changes;
    this.artifacts.removeStaleTemporaries();
    return { interrupted: dead.length + orphans };
  }

  // ---- models and datasets -------------------------------------------------------------------

  /** Records a model by content; the same bytes give the same row. Stores the file as an artifact. */
  addModel(m: { bytes: Uint8Array; name: string; format: string; sourcePath?: string | null; summary?: unknown }): { id: string; sha256: string } {
    const { sha256, sizeBytes } = this.artifacts.put(m.bytes);
    return this.addModelBySha({ ...m, sha256, sizeBytes });
  }

  /** Records a model whose bytes are already in the artifact store. */
  addModelBySha(m: { sha256: string; sizeBytes: number; name: string; format: string; sourcePath?: string | null; summary?: unknown }): { id: string; sha256: string } {
    const { sha256, sizeBytes } = m;
    if (!this.artifacts.has(sha256)) throw new Error(`Model ${sha256} is not in the artifact store.`);
    return this.db.transaction(() => {
      this.ensureArtifactRow(sha256, sizeBytes);
      const existing = this.db.prepare('SELECT id FROM models WHERE sha256=?').get(sha256) as { id: string } | undefined;
      if (existing) return { id: existing.id, sha256 };
      const id = newId();
      this.db
        .prepare('INSERT INTO models (id, sha256, name, format, source_path, size_bytes, summary_json, created_at) VALUES (?,?,?,?,?,?,?,?)')
        .run(id, sha256, m.name, m.format, m.sourcePath ?? null, sizeBytes, JSON.stringify(m.summary ?? {}), now());
      return { id, sha256 };
    })();
  }

  addDataset(d: { spec: string; sha256: string; sampleCount: number; preprocessing?: unknown }): { id: string } {
    return this.db.transaction(() => {
      const existing = this.db.prepare('SELECT id FROM datasets WHERE spec=? AND sha256=?').get(d.spec, d.sha256) as { id: string } | undefined;
      if (existing) return existing;
      const id = newId();
      this.db
        .prepare('INSERT INTO datasets (id, spec, sha256, sample_count, preprocessing_json, created_at) VALUES (?,?,?,?,?,?)')
        .run(id, d.spec, d.sha256, d.sampleCount, JSON.stringify(d.preprocessing ?? {}), now());
      return { id };
    })();
  }

  private ensureArtifactRow(sha256: string, sizeBytes: number): void {
    this.db.prepare('INSERT OR IGNORE INTO artifacts (sha256, size_bytes, created_at) VALUES (?,?,?)').run(sha256, sizeBytes, now());
  }

  // ---- experiments ----------------------------------------------------------------------------

  createExperiment(e: NewExperiment): string {
    const id = newId();
    this.db
      .prepare(
        `INSERT INTO experiments (id, name, kind, status, config_json, app_version, seed, rounding_mode, model_id, dataset_id, created_at)
         VALUES (?,?,?,'running',?,?,?,?,?,?,?)`,
      )
      .run(id, e.name, e.kind, JSON.stringify(e.config ?? {}), e.appVersion, e.seed ?? null, e.roundingMode ?? null, e.modelId ?? null, e.datasetId ?? null, now());
    return id;
  }

  /** Attaches the inputs an experiment turned out to use (known only once the job has read them). */
  setExperimentInputs(id: string, inputs: { modelId?: string | null; datasetId?: string | null }): void {
    this.db
      .prepare('UPDATE experiments SET model_id=COALESCE(?, model_id), dataset_id=COALESCE(?, dataset_id) WHERE id=?')
      .run(inputs.modelId ?? null, inputs.datasetId ?? null, id);
  }

  /** Writes every result and marks the experiment completed, in one transaction. */
  completeExperiment(id: string, results: ExperimentResults, jobId?: string): void {
    const at = now();
    this.db.transaction(() => {
      for (const a of results.artifacts ?? []) {
        if (!this.artifacts.has(a.sha256)) throw new Error(`Artifact ${a.sha256} was not written before its experiment completed.`);
        this.ensureArtifactRow(a.sha256, a.sizeBytes);
        this.db.prepare('INSERT OR REPLACE INTO experiment_artifacts (experiment_id, sha256, role, name) VALUES (?,?,?,?)').run(id, a.sha256, a.role, a.name);
      }
      const metric = this.db.prepare('INSERT OR REPLACE INTO metrics (experiment_id, name, context, value, unit) VALUES (?,?,?,?,?)');
      for (const m of results.metrics ?? []) metric.run(id, m.name, m.context, m.value, m.unit);
      const lm = this.db.prepare(
        'INSERT OR REPLACE INTO layer_metrics (experiment_id, layer_index, layer_name, op_type, mode, metric, channel, value) VALUES (?,?,?,?,?,?,?,?)',
      );
      for (const r of results.layerMetrics ?? []) lm.run(id, r.layerIndex, r.layerName, r.opType, r.mode ?? '', r.metric, r.channel ?? -1, r.value);
      this.db.prepare(`UPDATE experiments SET status='completed', finished_at=?, error=NULL WHERE id=?`).run(at, id);
      if (jobId) this.db.prepare(`UPDATE jobs SET status='completed', finished_at=?, eta_ms=0 WHERE id=?`).run(at, jobId);
    })();
  }

  endExperiment(id: string, status: Exclude<ExperimentStatus, 'running' | 'completed'>, error: string | null): void {
    this.db.prepare(`UPDATE experiments SET status=?, error=?, finished_at=? WHERE id=? AND status='running'`).run(status, error, now(), id);
  }

  /** An exact id, or a unique prefix of at least 4 characters (like git). */
  resolveExperimentId(idOrPrefix: string): string {
    const exact = this.db.prepare('SELECT id FROM experiments WHERE id=?').get(idOrPrefix) as { id: string } | undefined;
    if (exact) return exact.id;
    if (idOrPrefix.length >= 4 && /^[0-9a-f]+$/.test(idOrPrefix)) {
      const rows = this.db.prepare(`SELECT id FROM experiments WHERE id LIKE ? || '%' LIMIT 2`).all(idOrPrefix) as { id: string }[];
      if (rows.length === 1) return rows[0].id;
      if (rows.length > 1) throw new UserError('ambiguous-id', `Experiment id '${idOrPrefix}' is ambiguous: give more characters.`);
    }
    throw new UserError('not-found', `No experiment '${idOrPrefix}' in the workspace '${this.dir}'.`);
  }

  private summaryFrom(row: ExperimentRow): ExperimentSummary {
    const tags = (this.db.prepare('SELECT tag FROM experiment_tags WHERE experiment_id=? ORDER BY tag').all(row.id) as { tag: string }[]).map((t) => t.tag);
    const metrics = this.db.prepare('SELECT name, context, value, unit FROM metrics WHERE experiment_id=? ORDER BY name, context').all(row.id) as Metric[];
    return {
      id: row.id,
      name: row.name,
      kind: row.kind,
      status: row.status,
      tags,
      notes: row.notes,
      createdAt: row.created_at,
      finishedAt: row.finished_at,
      modelSha256: row.model_sha256,
      datasetSha256: row.dataset_sha256,
      appVersion: row.app_version,
      seed: row.seed,
      roundingMode: row.rounding_mode,
      metrics,
    };
  }

  private static readonly SELECT_EXPERIMENT = `
    SELECT e.*, m.sha256 AS model_sha256, d.sha256 AS dataset_sha256
    FROM experiments e LEFT JOIN models m ON m.id = e.model_id LEFT JOIN datasets d ON d.id = e.dataset_id`;

  listExperiments(req: ExperimentListRequest = {}): ExperimentPage {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (req.text) {
      where.push(`(e.name LIKE ? ESCAPE '\\' OR e.notes LIKE ? ESCAPE '\\' OR e.id LIKE ? ESCAPE '\\')`);
      const like = `%${req.text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
      args.push(like, like, like);
    }
    if (req.status) {
      where.push('e.status = ?');
      args.push(req.status);
    }
    if (req.kind) {
      where.push('e.kind = ?');
      args.push(req.kind);
    }
    if (req.tag) {
      where.push('EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.id AND t.tag = ?)');
      args.push(req.tag);
    }
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const sortColumn = { createdAt: 'e.created_at', name: 'e.name', status: 'e.status', kind: 'e.kind' }[req.sort ?? 'createdAt'];
    const order = req.order === 'asc' ? 'ASC' : 'DESC';
    const offset = req.offset ?? 0;
    const limit = req.limit ?? 50;
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM experiments e ${whereSql}`).get(...args) as { n: number }).n;
    const rows = this.db
      .prepare(`${WorkspaceStore.SELECT_EXPERIMENT} ${whereSql} ORDER BY ${sortColumn} ${order}, e.id ${order} LIMIT ? OFFSET ?`)
      .all(...args, limit, offset) as ExperimentRow[];
    return { total, offset, items: rows.map((r) => this.summaryFrom(r)) };
  }

  getExperiment(idOrPrefix: string): ExperimentDetail {
    const id = this.resolveExperimentId(idOrPrefix);
    const row = this.db.prepare(`${WorkspaceStore.SELECT_EXPERIMENT} WHERE e.id = ?`).get(id) as ExperimentRow;
    const model = row.model_id
      ? (this.db.prepare('SELECT id, name, format, sha256, size_bytes AS sizeBytes, source_path AS sourcePath FROM models WHERE id=?').get(row.model_id) as ExperimentDetail['model'])
      : null;
    const dataset = row.dataset_id
      ? (this.db.prepare('SELECT id, spec, sha256, sample_count AS sampleCount FROM datasets WHERE id=?').get(row.dataset_id) as ExperimentDetail['dataset'])
      : null;
    const artifacts = this.db
      .prepare(
        `SELECT ea.sha256, ea.role, ea.name, a.size_bytes AS sizeBytes FROM experiment_artifacts ea JOIN artifacts a ON a.sha256 = ea.sha256
         WHERE ea.experiment_id=? ORDER BY ea.role, ea.name`,
      )
      .all(id) as ArtifactRef[];
    const count = (sql: string) => (this.db.prepare(sql).get(id) as { n: number }).n;
    const job = this.db.prepare('SELECT id FROM jobs WHERE experiment_id=? ORDER BY created_at DESC LIMIT 1').get(id) as { id: string } | undefined;
    return {
      ...this.summaryFrom(row),
      config: JSON.parse(row.config_json) as unknown,
      error: row.error,
      model,
      dataset,
      artifacts,
      layerMetricCount: count('SELECT COUNT(*) AS n FROM layer_metrics WHERE experiment_id=?'),
      deviceRunCount: count('SELECT COUNT(*) AS n FROM device_runs WHERE experiment_id=?'),
      jobId: job?.id ?? null,
    };
  }

  tagExperiment(idOrPrefix: string, add: string[], remove: string[] = []): ExperimentDetail {
    const id = this.resolveExperimentId(idOrPrefix);
    for (const t of add) {
      if (!t.trim() || t.length > 100) throw new UserError('bad-tag', `Tag '${t.slice(0, 120)}' is not usable: tags are 1–100 characters.`);
    }
    this.db.transaction(() => {
      for (const t of add) this.db.prepare('INSERT OR IGNORE INTO experiment_tags (experiment_id, tag) VALUES (?,?)').run(id, t.trim());
      for (const t of remove) this.db.prepare('DELETE FROM experiment_tags WHERE experiment_id=? AND tag=?').run(id, t.trim());
    })();
    return this.getExperiment(id);
  }

  noteExperiment(idOrPrefix: string, notes: string): ExperimentDetail {
    const id = this.resolveExperimentId(idOrPrefix);
    this.db.prepare('UPDATE experiments SET notes=? WHERE id=?').run(notes, id);
    return this.getExperiment(id);
  }

  /**
   * Deletes an experiment and its rows; artifacts no other experiment or model uses are moved to
   * `trash/` (not deleted). A running experiment cannot be deleted.
   */
  deleteExperiment(idOrPrefix: string): { id: string; trashedArtifacts: number } {
    const id = this.resolveExperimentId(idOrPrefix);
    const { status } = this.db.prepare('SELECT status FROM experiments WHERE id=?').get(id) as { status: ExperimentStatus };
    if (status === 'running') throw new UserError('busy', `Experiment '${id}' is still running: cancel its job first.`);
    const orphans = this.db.transaction(() => {
      const mine = (this.db.prepare('SELECT DISTINCT sha256 FROM experiment_artifacts WHERE experiment_id=?').all(id) as { sha256: string }[]).map((r) => r.sha256);
      this.db.prepare('DELETE FROM experiments WHERE id=?').run(id);
      const unused: string[] = [];
      for (const sha of mine) {
        const used =
          this.db.prepare('SELECT 1 FROM experiment_artifacts WHERE sha256=? LIMIT 1').get(sha) ?? this.db.prepare('SELECT 1 FROM models WHERE sha256=? LIMIT 1').get(sha);
        if (!used) {
          this.db.prepare('DELETE FROM artifacts WHERE sha256=?').run(sha);
          unused.push(sha);
        }
      }
      return unused;
    })();
    // Files move after the commit: a crash in between leaves a file with no row, never a row with no file.
    for (const sha of orphans) this.artifacts.moveToTrash(sha, this.trashDir);
    return { id, trashedArtifacts: orphans.length };
  }

  // ---- jobs -----------------------------------------------------------------------------------

  createJob(kind: string, params: unknown, experimentId: string | null): string {
    const id = newId();
    this.db
      .prepare(`INSERT INTO jobs (id, kind, status, experiment_id, params_json, owner_pid, heartbeat_at, created_at) VALUES (?,?,'queued',?,?,?,?,?)`)
      .run(id, kind, experimentId, JSON.stringify(params ?? {}), process.pid, now(), now());
    return id;
  }

  startJob(id: string): void {
    this.db.prepare(`UPDATE jobs SET status='running', started_at=?, heartbeat_at=?, owner_pid=? WHERE id=? AND status='queued'`).run(now(), now(), process.pid, id);
  }

  updateJobProgress(id: string, p: { stage: string; done: number; total: number | null; etaMs: number | null }): void {
    this.db.prepare(`UPDATE jobs SET stage=?, done=?, total=?, eta_ms=?, heartbeat_at=? WHERE id=? AND status='running'`).run(p.stage, p.done, p.total, p.etaMs, now(), id);
  }

  heartbeat(ids: string[]): void {
    const stmt = this.db.prepare(`UPDATE jobs SET heartbeat_at=? WHERE id=? AND status='running'`);
    const at = now();
    this.db.transaction(() => ids.forEach((id) => stmt.run(at, id)))();
  }

  appendJobLog(id: string, level: 'info' | 'warn' | 'error', message: string): void {
    this.db
      .prepare(`INSERT INTO job_log (job_id, seq, at, level, message) VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_log WHERE job_id=?), ?, ?, ?)`)
      .run(id, id, now(), level, message);
  }

  /** Ends a job that did not complete (failed, cancelled), with its experiment, in one transaction. */
  endJob(id: string, status: 'failed' | 'cancelled', error: string | null): void {
    this.db.transaction(() => {
      const row = this.db.prepare('SELECT experiment_id FROM jobs WHERE id=?').get(id) as { experiment_id: string | null } | undefined;
      this.db.prepare(`UPDATE jobs SET status=?, error=?, finished_at=? WHERE id=? AND status IN ('queued','running')`).run(status, error, now(), id);
      if (row?.experiment_id) this.endExperiment(row.experiment_id, status, error);
    })();
  }

  private jobFrom(r: JobRow): JobSummary {
    return {
      id: r.id,
      kind: r.kind,
      status: r.status,
      experimentId: r.experiment_id,
      stage: r.stage,
      done: r.done,
      total: r.total,
      etaMs: r.eta_ms,
      error: r.error,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    };
  }

  listJobs(req: { status?: JobStatus; limit?: number } = {}): JobSummary[] {
    const rows = (
      req.status
        ? this.db.prepare('SELECT * FROM jobs WHERE status=? ORDER BY created_at DESC LIMIT ?').all(req.status, req.limit ?? 50)
        : this.db.prepare('SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?').all(req.limit ?? 50)
    ) as JobRow[];
    return rows.map((r) => this.jobFrom(r));
  }

  getJob(id: string): JobDetail {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id=?').get(id) as JobRow | undefined;
    if (!row) throw new UserError('not-found', `No job '${id}' in the workspace '${this.dir}'.`);
    const log = this.db.prepare('SELECT seq, at, level, message FROM job_log WHERE job_id=? ORDER BY seq').all(id) as JobDetail['log'];
    return { ...this.jobFrom(row), log };
  }

  /** Integrity check of the database file (`PRAGMA integrity_check`). */
  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }
}

/** True when `dir` holds a workspace database (for read-only verbs that must not create one). */
export function workspaceExists(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'quantlab.db'));
}
