/**
 * Content-addressed artifact files: `artifacts/ab/abcdef…` named by SHA-256 of the bytes, written
 * atomically (temporary file in the same folder tree, fsync, rename, fsync of the folder), so a
 * file under its hash name is always complete. Writing the same bytes twice is a no-op.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const ARTIFACTS_DIR = 'artifacts';

export function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

export function sha256File(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not supported on every platform (Windows); rename is still atomic */
  }
}

/** Writes `bytes` to `file` atomically: readers see the old file or the whole new one. */
export function writeFileAtomic(file: string, bytes: Uint8Array | string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx');
  try {
    fs.writeSync(fd, typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

export class ArtifactStore {
  readonly root: string;
  constructor(workspaceDir: string) {
    this.root = path.join(workspaceDir, ARTIFACTS_DIR);
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`Not a SHA-256 hex digest: '${sha256}'.`);
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  has(sha256: string): boolean {
    return fs.existsSync(this.pathOf(sha256));
  }

  /** Stores the bytes; returns their hash and size. */
  put(bytes: Uint8Array): { sha256: string; sizeBytes: number } {
    const sha256 = sha256Hex(bytes);
    const file = this.pathOf(sha256);
    if (!fs.existsSync(file)) writeFileAtomic(file, bytes);
    return { sha256, sizeBytes: bytes.length };
  }

  read(sha256: string): Buffer {
    return fs.readFileSync(this.pathOf(sha256));
  }

  /** Checks a stored file still has its hash (detects damage on disk). */
  verify(sha256: string): boolean {
    return this.has(sha256) && sha256File(this.pathOf(sha256)) === sha256;
  }

  /** Moves an artifact into `trash/` (never deletes a user's data outright). */
  moveToTrash(sha256: string, trashDir: string): void {
    const from = this.pathOf(sha256);
    if (!fs.existsSync(from)) return;
    fs.mkdirSync(trashDir, { recursive: true });
    fs.renameSync(from, path.join(trashDir, sha256));
  }

  /** Leftover temporary files of writers that were killed mid-write. */
  removeStaleTemporaries(): number {
    let removed = 0;
    if (!fs.existsSync(this.root)) return 0;
    for (const sub of fs.readdirSync(this.root)) {
      const dir = path.join(this.root, sub);
      if (!fs.statSync(dir).isDirectory()) continue;
      for (const f of fs.readdirSync(dir)) {
        const m = /^\..*\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(f);
        // Only the temporaries of writers that are gone: another process may be writing right now.
        if (m && !processAlive(Number(m[1]))) {
          fs.rmSync(path.join(dir, f), { force: true });
          removed++;
        }
      }
    }
    return removed;
  }
}

/** Whether a process with this pid exists on this machine. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
