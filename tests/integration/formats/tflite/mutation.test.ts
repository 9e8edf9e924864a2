/**
 * Seeded corruption of real models: every outcome must be a valid Model or a ModelFormatError,
 * quickly, without other exception types, hangs or large allocations.
 *
 * Most bytes of a real model are weights, where a flipped bit just changes a number; so most
 * mutations aim at the flatbuffer structure (everything outside the constant buffers): vtables,
 * offsets, vector lengths, indices, enums. Reproduce one case with SEED/case printed on failure.
 */

import * as flatbuffers from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../../../src/core/errors';
import * as fb from '../../../../src/core/formats/tflite/generated/schema_generated';
import { readTflite } from '../../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../../src/core/formats/tflite/writer';
import type { Model } from '../../../../src/core/ir/types';
import { validateModel } from '../../../../src/core/ir/validate';
import { FACE_FULL, FACE_SHORT, FACE_SPARSE, SELFIE, readBytes, rng } from './test-utils';

const SEED = 20_260_101;
const TIME_LIMIT_MS = 200;
const ALLOCATION_LIMIT_BYTES = 256 * 2 ** 20;

/** Byte ranges of the constant buffers' data in an intact file (read once, trusted). */
function dataRanges(bytes: Uint8Array): [number, number][] {
  const model = fb.Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes));
  const ranges: [number, number][] = [];
  for (let i = 0; i < model.buffersLength(); i++) {
    const data = model.buffers(i)?.dataArray();
    if (data && data.length > 0) ranges.push([data.byteOffset - bytes.byteOffset, data.byteOffset - bytes.byteOffset + data.length]);
  }
  return ranges.sort((a, b) => a[0] - b[0]);
}

/** Offsets outside the constant data: the structure of the file. */
function structureOffsets(bytes: Uint8Array): Int32Array {
  const inData = new Uint8Array(bytes.length);
  for (const [a, b] of dataRanges(bytes)) inData.fill(1, a, b);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (!inData[i]) out.push(i);
  return Int32Array.from(out);
}

const EXTREMES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0xffff, 0x10000, 3, 127, 128];

interface Mutation {
  bytes: Uint8Array;
  what: string;
}

function mutate(original: Uint8Array, structure: Int32Array, next: () => number): Mutation {
  const pick = (n: number) => Math.floor(next() * n);
  const at = () => (next() < 0.8 ? structure[pick(structure.length)] : pick(original.length));
  const kind = next();
  if (kind < 0.12) {
    const length = next() < 0.5 ? pick(original.length) : original.length - 1 - pick(Math.min(4096, original.length - 1));
    return { bytes: original.slice(0, length), what: `truncate to ${length}` };
  }
  const bytes = original.slice();
  const edits: string[] = [];
  const count = 1 + pick(3);
  for (let e = 0; e < count; e++) {
    const k = next();
    if (k < 0.45) {
      const o = at();
      const bit = pick(8);
      bytes[o] ^= 1 << bit;
      edits.push(`flip bit ${bit} of byte ${o}`);
    } else if (k < 0.7) {
      const o = at();
      const v = pick(256);
      bytes[o] = v;
      edits.push(`byte ${o} = ${v}`);
    } else if (k < 0.92) {
      const o = at() & ~3;
      const v = next() < 0.6 ? EXTREMES[pick(EXTREMES.length)] : pick(2 ** 32);
      if (o + 4 <= bytes.length) new DataView(bytes.buffer).setUint32(o, v >>> 0, true);
      edits.push(`u32 at ${o} = ${v >>> 0}`);
    } else {
      const o = at();
      const n = 1 + pick(64);
      bytes.fill(next() < 0.5 ? 0 : 0xff, o, Math.min(bytes.length, o + n));
      edits.push(`fill ${n} bytes at ${o}`);
    }
  }
  return { bytes, what: edits.join(', ') };
}

interface Stats {
  ok: number;
  rejected: number;
  maxMs: number;
  failures: string[];
}

function runCases(path: string, cases: number, seed: number): Stats {
  const original = readBytes(path);
  const structure = structureOffsets(original);
  const next = rng(seed);
  const stats: Stats = { ok: 0, rejected: 0, maxMs: 0, failures: [] };
  for (let c = 0; c < cases; c++) {
    const m = mutate(original, structure, next);
    const before = process.memoryUsage().arrayBuffers;
    let model: Model | undefined;
    let error: unknown;
    const attempt = (): number => {
      const t0 = performance.now();
      model = undefined;
      error = undefined;
      try {
        model = readTflite(m.bytes, 'mutant.tflite');
      } catch (e) {
        error = e;
      }
      return performance.now() - t0;
    };
    let ms = attempt();
    const grown = process.memoryUsage().arrayBuffers - before;
    // A slow case is re-timed twice: a machine busy with other work (or a GC pause) makes one
    // run slow, a reader that loops on a corrupt structure makes every run slow.
    for (let retry = 0; retry < 2 && ms > TIME_LIMIT_MS; retry++) ms = Math.min(ms, attempt());
    stats.maxMs = Math.max(stats.maxMs, ms);
    const where = `${path.split('/').pop()} seed ${seed} case ${c} (${m.what})`;
    if (ms > TIME_LIMIT_MS) stats.failures.push(`${where}: took ${ms.toFixed(0)} ms`);
    if (grown > ALLOCATION_LIMIT_BYTES) stats.failures.push(`${where}: allocated ${grown} bytes`);
    if (error !== undefined) {
      // The reader turns any stray exception into a ModelFormatError too ("reading it failed
      // (TypeError …)"): that is a safety net, and hitting it means a check is missing.
      if (error instanceof ModelFormatError && error.message.startsWith('mutant.tflite') && !error.message.includes('reading it failed')) {
        stats.rejected++;
      } else {
        stats.failures.push(`${where}: threw ${String(error)}`);
      }
      continue;
    }
    stats.ok++;
    // Validation must cope with whatever the reader accepts (it reports, never throws).
    try {
      validateModel(model as unknown as Model);
    } catch (e) {
      stats.failures.push(`${where}: read fine but validation threw ${String(e)}`);
    }
    // What the reader accepts, the writer must be able to write (checked on a sample: writing is slower).
    if (c % 8 === 0 && model) {
      try {
        writeTflite(model);
      } catch (e) {
        stats.failures.push(`${where}: read fine but writing failed: ${String(e)}`);
      }
    }
  }
  return stats;
}

describe('reading corrupted real models', () => {
  it.each([
    [FACE_SHORT, 800, SEED],
    [SELFIE, 800, SEED + 1],
    [FACE_FULL, 400, SEED + 2],
    [FACE_SPARSE, 250, SEED + 3], // sparse index structures: densification under corruption
  ])('%s: %i seeded mutations end in a Model or a ModelFormatError', (path, cases, seed) => {
    const stats = runCases(path, cases, seed);
    expect(stats.failures).toEqual([]);
    expect(stats.ok + stats.rejected).toBe(cases);
    // Both outcomes must actually happen, or the mutations are not testing anything.
    expect(stats.rejected).toBeGreaterThan(cases / 5);
    expect(stats.ok).toBeGreaterThan(cases / 50);
  });
});
