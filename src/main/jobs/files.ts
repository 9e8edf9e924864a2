/**
 * Files a job or verb reads and writes for the user (models in, models out). Outputs are written
 * to a temporary sibling, flushed, then renamed: a crash or a failure never leaves half a file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../core/errors';

/** Writes `bytes` to `file` atomically (temporary file in the same folder, fsync, rename). */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) throw new UserError('bad-output', `The output folder '${dir}' does not exist.`);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new UserError('write-failed', `Cannot write '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, { cause: e });
  }
}

/** The bytes of a model file, or a sentence naming the file and why it cannot be read. */
export function readModelBytes(file: string, role: string): Uint8Array {
  try {
    const b = fs.readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  } catch (e) {
    throw new UserError('bad-input', `${role} file '${file}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
}

/** Checks that an output path can be written: its folder exists and it is not a folder. */
export function checkOutputPath(file: string, what: string): string {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError('bad-output', `The folder of ${what} '${file}' does not exist.`);
  if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new UserError('bad-output', `${what[0].toUpperCase()}${what.slice(1)} '${file}' is a folder.`);
  return abs;
}

/** True when the two paths name the same file (symbolic and hard links included). */
export function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}
