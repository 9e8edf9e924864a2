/**
 * Opening the workspace database: the one place in QuantLab that opens SQLite.
 * WAL mode (readers never block the writer; a killed process leaves a consistent file),
 * foreign keys on, a busy timeout so two QuantLab processes (app + CLI) wait for each other
 * instead of failing, and migrations applied at open inside one transaction.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../../core/errors';
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations';

export type Db = Database.Database;

export const DB_FILE = 'quantlab.db';

export interface OpenOptions {
  /** For tests of migration: the migrations this build knows. */
  migrations?: Migration[];
  busyTimeoutMs?: number;
}

export function openDatabase(workspaceDir: string, options: OpenOptions = {}): Db {
  const migrations = options.migrations ?? MIGRATIONS;
  const known = migrations.length ? migrations[migrations.length - 1].version : 0;
  const file = path.join(workspaceDir, DB_FILE);
  fs.mkdirSync(workspaceDir, { recursive: true });
  let db: Db;
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs ?? 10_000 });
  } catch (e) {
    throw new UserError('bad-workspace', `The workspace database '${file}' cannot be opened: ${(e as Error).message}.`);
  }
  try {
    let version: number;
    try {
      version = db.pragma('user_version', { simple: true }) as number;
    } catch (e) {
      throw new UserError('bad-workspace', `'${file}' is not a QuantLab workspace database: ${(e as Error).message}.`);
    }
    if (version > known) {
      throw new UserError(
        'workspace-too-new',
        `The workspace '${workspaceDir}' was written by a newer QuantLab (schema version ${version}; this QuantLab knows up to ${known}). Update QuantLab to open it; nothing was changed.`,
      );
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    const pending = migrations.filter((m) => m.version > version);
    if (pending.length) {
      // IMMEDIATE: take the write lock first, so two processes opening an old workspace at once
      // migrate it exactly once.
      const migrate = db.transaction(() => {
        const current = db.pragma('user_version', { simple: true }) as number;
        for (const m of migrations.filter((mm) => mm.version > current)) {
          db.exec(m.sql);
          db.pragma(`user_version = ${m.version}`);
        }
      });
      migrate.immediate();
    }
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

export { SCHEMA_VERSION };
