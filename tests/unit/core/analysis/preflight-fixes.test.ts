import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findingKinds, preflight } from '../../../../src/core/analysis/preflight';
import { applyPreflightFixes, fixTransposeConv } from '../../../../src/core/analysis/preflight-fixes';
import { readTflite } from '../../../../src/core/formats/tflite/reader';
import type { Padding } from '../../../../src/core/ir/types';
import { GraphBuilder } from './preflight-graphs';

function transposeConvGraph(k: number, s: number, padding: Padding, outHW: number) {
  const b = new GraphBuilder();
  const x = b.input('x', [1, 5, 5, 3]);
  const outShape = b.tensor('out_shape', [4], Int32Array.from([1, outHW, outHW, 2]));
  const w = b.weights('w', [2, k, k, 3], 7);
  const bias = b.weights('bias', [2], 8);
  const y = b.tensor('y', [1, outHW, outHW, 2]);
  b.op({ type: 'TRANSPOSE_CONV', name: 'up', inputs: [outShape, w, x, bias], outputs: [y], options: { padding, strideH: s, strideW: s, fusedActivationFunction: 'NONE' } });
  b.outputs = [b.relu('out', y)];
  return b.build();
}

describe('transpose-convolution fix', () => {
  it('kernel = stride: CONV_2D + DEPTH_TO_SPACE, equal to the original up to float rounding', () => {
    const g = transposeConvGraph(2, 2, 'VALID', 10);
    const r = fixTransposeConv(g, { seed: 3 });
    expect(r.changes).toEqual([{ opIndex: 0, name: 'up', from: 'TRANSPOSE_CONV', to: ['CONV_2D', 'DEPTH_TO_SPACE'], exact: true }]);
    expect(r.graph.ops.map((o) => o.type)).toEqual(['CONV_2D', 'DEPTH_TO_SPACE', 'RELU']);
    expect(r.error).toMatchObject({ samples: 2, seed: 3 });
    expect(r.error!.maxAbs).toBeLessThan(1e-6);
    expect(r.error!.relativeL2).toBeLessThan(1e-6);
    expect(g.ops[0].type).toBe('TRANSPOSE_CONV'); // untouched
  });

  it('kernel ≠ stride: RESIZE_BILINEAR + CONV_2D, an approximation whose error is reported', () => {
    const g = transposeConvGraph(3, 2, 'SAME', 10);
    const r = fixTransposeConv(g);
    expect(r.changes[0]).toMatchObject({ to: ['RESIZE_BILINEAR', 'CONV_2D'], exact: false });
    expect(r.description).toMatch(/approximate/);
    expect(r.error!.relativeL2).toBeGreaterThan(1e-4);
    expect(Number.isFinite(r.error!.maxAbs)).toBe(true);
    // Both forms are delegate-friendly: NNAPI at API 28 (no TRANSPOSE_CONV there) takes the fixed graph whole.
    expect(findingKinds(preflight(g, { delegate: 'nnapi', androidApi: 28 }))).toEqual(['android-api-too-low']);
    expect(preflight(r.graph, { delegate: 'nnapi', androidApi: 28 })).toMatchObject({ nodesDelegated: 3, partitions: 1, findings: [] });
  });

  it('a graph without transpose convolutions is left alone', () => {
    const b = new GraphBuilder();
    b.outputs = [b.relu('y', b.input('x', [1, 2]))];
    const g = b.build();
    expect(applyPreflightFixes(g, ['batch', 'transpose-conv']).graph).toBe(g);
  });
});

const SELFIE = 'node_modules/@mediapipe/selfie_segmentation/selfie_segmentation.tflite';
const FACE = 'node_modules/@mediapipe/face_detection/face_detection_short_range.tflite';
const load = (f: string) => readTflite(new Uint8Array(fs.readFileSync(f)), f).subgraphs[0];

describe('pre-flight on MediaPipe models', () => {
  it('selfie segmentation: NNAPI refuses the custom transpose convolution, the GPU runs it; the fix is exact', () => {
    const g = load(SELFIE);
    const nnapi = preflight(g, { delegate: 'nnapi', androidApi: 30 });
    expect(findingKinds(nnapi)).toEqual(['custom-op-not-supported']);
    expect(nnapi.findings[0]).toMatchObject({ opIndex: 244, opName: 'segment', opType: 'Convolution2DTransposeBias', fix: 'transpose-conv' });
    expect(nnapi.findings[0].message).toMatch(/^Op 244 \(CUSTOM Convolution2DTransposeBias 'segment'\) stays on the CPU: .*the GPU delegate runs it as it is/);
    // 246 nodes: the custom op and its two float16-weight DEQUANTIZEs stay on the CPU, the LOGISTIC after it is a second delegate partition.
    expect(nnapi).toMatchObject({ nodesTotal: 246, nodesDelegated: 243, delegatedPartitions: 2, partitions: 3 });
    expect(nnapi.ops[245]).toMatchObject({ type: 'LOGISTIC', delegated: true });

    // API 29: RESIZE_BILINEAR with half_pixel_centers stays on the CPU too, and NNAPI's 3-partition limit bites.
    const q = preflight(g, { delegate: 'nnapi', androidApi: 29 });
    expect(findingKinds(q)).toEqual(['android-api-too-low', 'custom-op-not-supported', 'partition-limit']);
    expect(q).toMatchObject({ delegatedPartitions: 3 });

    const gpu = preflight(g, { delegate: 'gpu', androidApi: 30 });
    expect(gpu.findings).toEqual([]);
    expect(gpu).toMatchObject({ nodesDelegated: 246, delegatedPartitions: 1, partitions: 1 });
    expect(gpu.ops[244].note).toMatch(/GPU delegate has its own kernel/);

    const fixed = fixTransposeConv(g, { samples: 1 });
    expect(fixed.changes).toEqual([{ opIndex: 244, name: 'segment', from: "CUSTOM 'Convolution2DTransposeBias'", to: ['CONV_2D', 'DEPTH_TO_SPACE'], exact: true }]);
    expect(fixed.error!.maxAbs).toBeLessThan(1e-5);
    expect(fixed.error!.relativeL2).toBeLessThan(1e-5);
    const after = preflight(fixed.graph, { delegate: 'nnapi', androidApi: 30 });
    expect(after.findings).toEqual([]);
    expect(after).toMatchObject({ nodesTotal: 245, nodesDelegated: 245, partitions: 1 });
  }, 60_000);

  it('face detection: the GPU takes all 164 nodes in one partition', () => {
    const r = preflight(load(FACE), { delegate: 'gpu', androidApi: 33 });
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({ nodesTotal: 164, nodesDelegated: 164, delegatedPartitions: 1, partitions: 1 });
    expect(r.summary).toBe('GPU: 164 nodes delegated out of 164 nodes with 1 partitions (1 partitions for the whole graph)');
  });
});
