/** Runs the real `quantlab` CLI in a child process, and reads a workspace's database, for CLI tests. */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const QUANTLAB_BIN = path.resolve(__dirname, '../../bin/quantlab.mjs');
/** A stranger's Keras MNIST CNN from ../shared (read-only test data). */
export const KERAS_CNN = path.resolve(__dirname, '../../../shared/keras-mnist/k2_seq_cnn.h5');

export function quantlab(args: string[], timeoutMs = 300_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [QUANTLAB_BIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Rows of `sql` in the workspace's quantlab.db, opened read-only. */
export function workspaceRows(ws: string, sql: string, ...params: unknown[]): Record<string, unknown>[] {
  const db = new Database(path.join(ws, 'quantlab.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as Record<string, unknown>[];
  } finally {
    db.close();
  }
}
