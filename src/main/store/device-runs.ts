/**
 * Device runs in the workspace (table `device_runs` of migration 1): one row per benchmark run on
 * a phone (or on the desktop runtime, server 'local'), linked to its experiment, with the parsed
 * latency, memory, delegation, op profile, the prediction record and the raw log.
 *
 * A benchmark job writes each run as it ends (`DeviceRunWriter`, from its worker thread, through
 * its own connection: WAL and the busy timeout make that safe), so the runs that finished survive
 * a phone unplugged mid-matrix or a killed job; the experiment itself is still completed by the
 * runner in one transaction.
 */
import type { DeviceFacts, DeviceRun } from '../../shared/api/contract';
import { openDatabase, type Db } from './database';
import { newId } from './index';

export type DeviceRunStatus = DeviceRun['status'];

export type NewDeviceRun = Omit<DeviceRun, 'id' | 'rawLogBytes' | 'rawLog'> & { rawLog: string };

interface DeviceRunRow {
  id: string;
  experiment_id: string | null;
  server: string;
  serial: string;
  device_json: string;
  delegate: string;
  threads: number | null;
  flags_json: string;
  status: DeviceRunStatus;
  latency_json: string;
  memory_json: string;
  delegation_json: string;
  predicted_json: string;
  profile_json: string;
  raw_log?: string;
  raw_log_bytes: number;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

export function insertDeviceRun(db: Db, run: NewDeviceRun): string {
  const id = newId();
  db.prepare(
    `INSERT INTO device_runs (id, experiment_id, server, serial, device_json, delegate, threads, flags_json, status, latency_json, memory_json,
       delegation_json, predicted_json, profile_json, raw_log, error, created_at, finished_at)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  ).run(
    id,
    run.experimentId,
    run.server,
    run.serial,
    JSON.stringify(run.device ?? {}),
    run.delegate,
    run.threads,
    JSON.stringify(run.flags),
    run.status,
    JSON.stringify(run.latency),
    JSON.stringify(run.memory),
    JSON.stringify(run.delegation),
    JSON.stringify(run.predicted),
    JSON.stringify(run.profile),
    run.rawLog,
    run.error,
    run.createdAt,
    run.finishedAt,
  );
  return id;
}

export interface DeviceRunFilter {
  experimentId?: string;
  serial?: string;
  delegate?: string;
  limit?: number;
  /** Include the raw benchmark log (can be large). */
  includeLog?: boolean;
}

function fromRow(r: DeviceRunRow): DeviceRun {
  const json = <T>(s: string, fallback: T): T => {
    try {
      return JSON.parse(s) as T;
    } catch {
      return fallback;
    }
  };
  return {
    id: r.id,
    experimentId: r.experiment_id,
    server: r.server,
    serial: r.serial,
    device: json(r.device_json, {}),
    delegate: r.delegate,
    threads: r.threads,
    flags: json<string[]>(r.flags_json, []),
    status: r.status,
    latency: json(r.latency_json, {} as DeviceRun['latency']),
    memory: json(r.memory_json, {} as DeviceRun['memory']),
    delegation: json(r.delegation_json, {} as DeviceRun['delegation']),
    predicted: json(r.predicted_json, { prediction: null, reason: null, comparison: null }),
    profile: json(r.profile_json, null),
    error: r.error,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    rawLogBytes: r.raw_log_bytes,
    rawLog: r.raw_log ?? null,
  };
}

export function listDeviceRuns(db: Db, filter: DeviceRunFilter = {}): DeviceRun[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (filter.experimentId) {
    where.push('experiment_id = ?');
    args.push(filter.experimentId);
  }
  if (filter.serial) {
    where.push('serial = ?');
    args.push(filter.serial);
  }
  if (filter.delegate) {
    where.push('delegate = ?');
    args.push(filter.delegate);
  }
  const cols = `id, experiment_id, server, serial, device_json, delegate, threads, flags_json, status, latency_json, memory_json, delegation_json,
    predicted_json, profile_json, length(CAST(raw_log AS BLOB)) AS raw_log_bytes, error, created_at, finished_at${filter.includeLog ? ', raw_log' : ''}`;
  const rows = db
    .prepare(`SELECT ${cols} FROM device_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, rowid LIMIT ?`)
    .all(...args, filter.limit ?? 200) as DeviceRunRow[];
  return rows.map(fromRow);
}

/**
 * What the benchmark tool last reported about a device's NNAPI accelerators and GPU (kept in the
 * device facts of its runs), or null when no run has said.
 */
export function lastToolFacts(db: Db, server: string, serial: string): DeviceFacts['tool'] {
  const rows = db.prepare('SELECT device_json FROM device_runs WHERE server=? AND serial=? ORDER BY created_at DESC, rowid DESC LIMIT 50').all(server, serial) as { device_json: string }[];
  for (const r of rows) {
    try {
      const tool = (JSON.parse(r.device_json) as { tool?: DeviceFacts['tool'] }).tool;
      if (tool) return tool;
    } catch {
      /* a damaged row says nothing */
    }
  }
  return null;
}

/** The experiment a job records (device runs are linked to it). */
export function experimentOfJob(db: Db, jobId: string): string | null {
  const row = db.prepare('SELECT experiment_id FROM jobs WHERE id=?').get(jobId) as { experiment_id: string | null } | undefined;
  return row?.experiment_id ?? null;
}

/** A connection of its own for a job's worker thread: writes each run as it ends. */
export class DeviceRunWriter {
  private constructor(readonly db: Db) {}

  static open(workspaceDir: string): DeviceRunWriter {
    return new DeviceRunWriter(openDatabase(workspaceDir));
  }

  insert(run: NewDeviceRun): string {
    return insertDeviceRun(this.db, run);
  }

  experimentOfJob(jobId: string): string | null {
    return experimentOfJob(this.db, jobId);
  }

  list(filter: DeviceRunFilter = {}): DeviceRun[] {
    return listDeviceRuns(this.db, filter);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
