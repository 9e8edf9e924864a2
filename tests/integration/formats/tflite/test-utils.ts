/** Shared bits of the TFLite format tests: real model paths, a seeded RNG, model comparison. */

import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { isOpaqueOp, tensorDataBytes } from '../../../../src/core/ir/graph';
import type { Model, Op } from '../../../../src/core/ir/types';

export const MEDIAPIPE = 'node_modules/@mediapipe';
export const FACE_SHORT = `${MEDIAPIPE}/face_detection/face_detection_short_range.tflite`;
export const FACE_FULL = `${MEDIAPIPE}/face_detection/face_detection_full_range.tflite`;
export const SELFIE = `${MEDIAPIPE}/selfie_segmentation/selfie_segmentation.tflite`;
export const SELFIE_LANDSCAPE = `${MEDIAPIPE}/selfie_segmentation/selfie_segmentation_landscape.tflite`;
export const FACE_SPARSE = `${MEDIAPIPE}/face_detection/face_detection_full_range_sparse.tflite`;

export function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** mulberry32: small, fast, seeded; good enough for test inputs and mutation offsets. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function opSummary(op: Op): Record<string, unknown> {
  const base = { type: op.type, inputs: op.inputs, outputs: op.outputs };
  if (isOpaqueOp(op)) {
    return { ...base, code: op.code, builtinCode: op.builtinCode, customOptions: op.customOptions ? Array.from(op.customOptions) : undefined };
  }
  return { ...base, options: op.options };
}

/**
 * Same graphs: tensor names, shapes, dtypes, data bytes, quantization and variable flags; op
 * types, options, operands and custom codes/options; graph inputs/outputs; metadata.
 * Op versions may only go up (the writer raises them to what TFLite requires).
 */
export function expectSameModel(a: Model, b: Model): void {
  expect(b.subgraphs.length).toBe(a.subgraphs.length);
  a.subgraphs.forEach((ga, s) => {
    const gb = b.subgraphs[s];
    expect(gb.name).toBe(ga.name);
    expect(gb.inputs).toEqual(ga.inputs);
    expect(gb.outputs).toEqual(ga.outputs);
    expect(gb.tensors.length).toBe(ga.tensors.length);
    ga.tensors.forEach((ta, i) => {
      const tb = gb.tensors[i];
      expect({ i, name: tb.name, dtype: tb.dtype, shape: tb.shape, quant: tb.quant, isVariable: tb.isVariable }).toEqual({
        i,
        name: ta.name,
        dtype: ta.dtype,
        shape: ta.shape,
        quant: ta.quant,
        isVariable: ta.isVariable,
      });
      expect(tb.data === undefined).toBe(ta.data === undefined);
      if (ta.data && tb.data) {
        expect(tb.data.constructor).toBe(ta.data.constructor);
        expect(Buffer.from(tensorDataBytes(tb.data)).equals(Buffer.from(tensorDataBytes(ta.data)))).toBe(true);
      }
    });
    expect(gb.ops.length).toBe(ga.ops.length);
    ga.ops.forEach((oa, i) => {
      const ob = gb.ops[i];
      expect({ i, ...opSummary(ob) }).toEqual({ i, ...opSummary(oa) });
      expect(ob.version ?? 1).toBeGreaterThanOrEqual(oa.version ?? 1);
    });
  });
  expect(b.description).toBe(a.description);
  expect((b.metadata ?? []).map((m) => [m.name, Array.from(m.data)])).toEqual((a.metadata ?? []).map((m) => [m.name, Array.from(m.data)]));
  expect(b.signatures ?? []).toEqual(a.signatures ?? []);
}
