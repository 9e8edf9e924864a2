/**
 * The workspace schema, as an ordered list of migrations. `PRAGMA user_version` holds the number of
 * migrations applied. Never edit a released migration: add a new one.
 *
 * Shapes chosen for the views of ROADMAP.md: metrics and layer metrics are long tables (one row per
 * number, with its unit), so a heatmap or a scatter reads them without recomputation; every experiment
 * row carries what makes its numbers traceable (model hash, dataset hash, full config, app version,
 * seed, rounding mode).
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'models, datasets, experiments, metrics, layer metrics, device runs, artifacts, jobs',
    sql: `
      CREATE TABLE models (
        id            TEXT PRIMARY KEY,
        sha256        TEXT NOT NULL,
        name          TEXT NOT NULL,
        format        TEXT NOT NULL,
        source_path   TEXT,
        size_bytes    INTEGER NOT NULL,
        summary_json  TEXT NOT NULL DEFAULT '{}',
        created_at    TEXT NOT NULL
      );
      CREATE UNIQUE INDEX models_sha256 ON models(sha256);

      CREATE TABLE datasets (
        id                 TEXT PRIMARY KEY,
        spec               TEXT NOT NULL,
        sha256             TEXT NOT NULL,
        sample_count       INTEGER NOT NULL,
        preprocessing_json TEXT NOT NULL DEFAULT '{}',
        created_at         TEXT NOT NULL
      );
      CREATE UNIQUE INDEX datasets_spec_hash ON datasets(spec, sha256);

      CREATE TABLE experiments (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        kind          TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('running','completed','failed','cancelled','interrupted')),
        notes         TEXT NOT NULL DEFAULT '',
        config_json   TEXT NOT NULL,
        app_version   TEXT NOT NULL,
        seed          INTEGER,
        rounding_mode TEXT,
        model_id      TEXT REFERENCES models(id),
        dataset_id    TEXT REFERENCES datasets(id),
        error         TEXT,
        created_at    TEXT NOT NULL,
        finished_at   TEXT
      );
      CREATE INDEX experiments_created ON experiments(created_at);

      CREATE TABLE experiment_tags (
        experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        tag           TEXT NOT NULL,
        PRIMARY KEY (experiment_id, tag)
      );

      CREATE TABLE metrics (
        experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        name          TEXT NOT NULL,
        context       TEXT NOT NULL DEFAULT '',
        value         REAL NOT NULL,
        unit          TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (experiment_id, name, context)
      );

      CREATE TABLE layer_metrics (
        experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        layer_index   INTEGER NOT NULL,
        layer_name    TEXT NOT NULL,
        op_type       TEXT NOT NULL,
        mode          TEXT NOT NULL DEFAULT '',
        metric        TEXT NOT NULL,
        channel       INTEGER NOT NULL DEFAULT -1,
        value         REAL NOT NULL,
        PRIMARY KEY (experiment_id, metric, mode, layer_index, channel)
      );

      CREATE TABLE device_runs (
        id               TEXT PRIMARY KEY,
        experiment_id    TEXT REFERENCES experiments(id) ON DELETE CASCADE,
        server           TEXT NOT NULL,
        serial           TEXT NOT NULL,
        device_json      TEXT NOT NULL DEFAULT '{}',
        delegate         TEXT NOT NULL,
        threads          INTEGER,
        flags_json       TEXT NOT NULL DEFAULT '[]',
        status           TEXT NOT NULL CHECK (status IN ('running','completed','failed','cancelled','interrupted')),
        latency_json     TEXT NOT NULL DEFAULT '{}',
        memory_json      TEXT NOT NULL DEFAULT '{}',
        delegation_json  TEXT NOT NULL DEFAULT '{}',
        predicted_json   TEXT NOT NULL DEFAULT '{}',
        profile_json     TEXT NOT NULL DEFAULT '[]',
        raw_log          TEXT NOT NULL DEFAULT '',
        error            TEXT,
        created_at       TEXT NOT NULL,
        finished_at      TEXT
      );

      CREATE TABLE artifacts (
        sha256      TEXT PRIMARY KEY,
        size_bytes  INTEGER NOT NULL,
        created_at  TEXT NOT NULL
      );

      CREATE TABLE experiment_artifacts (
        experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        sha256        TEXT NOT NULL REFERENCES artifacts(sha256),
        role          TEXT NOT NULL,
        name          TEXT NOT NULL,
        PRIMARY KEY (experiment_id, role, name)
      );

      CREATE TABLE jobs (
        id             TEXT PRIMARY KEY,
        kind           TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed','cancelled','interrupted')),
        experiment_id  TEXT REFERENCES experiments(id) ON DELETE SET NULL,
        params_json    TEXT NOT NULL,
        stage          TEXT NOT NULL DEFAULT '',
        done           INTEGER NOT NULL DEFAULT 0,
        total          INTEGER,
        eta_ms         REAL,
        owner_pid      INTEGER,
        heartbeat_at   TEXT,
        error          TEXT,
        created_at     TEXT NOT NULL,
        started_at     TEXT,
        finished_at    TEXT
      );
      CREATE INDEX jobs_status ON jobs(status);

      CREATE TABLE job_log (
        job_id   TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        seq      INTEGER NOT NULL,
        at       TEXT NOT NULL,
        level    TEXT NOT NULL,
        message  TEXT NOT NULL,
        PRIMARY KEY (job_id, seq)
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
