import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/** The SQLite version better-sqlite3 links, or throws when the native module does not load. */
export function sqliteVersion(): string {
  const require = createRequire(import.meta.url);
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(':memory:');
  try {
    return (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  } finally {
    db.close();
  }
}
