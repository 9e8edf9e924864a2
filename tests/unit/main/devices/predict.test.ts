import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBenchmarkLog, type BenchDelegation, type OpProfile } from '../../../../src/main/devices/benchmark-parser';
import { preflight } from '../../../../src/core/analysis/preflight';
import { compareDelegation, measuredCpuOps, NO_PREDICTION, predictionFromPreflight, predictionRecord, type PredictedDelegation } from '../../../../src/main/devices/predict';
import { GraphBuilder } from '../../core/analysis/preflight-graphs';

const measured = (over: Partial<BenchDelegation> = {}): BenchDelegation => ({
  delegate: 'TfLiteGpuDelegateV2',
  nodesDelegated: 30,
  nodesTotal: 31,
  partitions: 1,
  lines: [],
  staticShapeWarning: false,
  delegateNotApplied: false,
  coverage: 'partial',
  ...over,
});

const predicted = (over: Partial<PredictedDelegation> = {}): PredictedDelegation => ({
  delegate: 'gpu',
  nodesDelegated: 30,
  nodesTotal: 31,
  partitions: 1,
  cpuOps: [{ index: 31, name: 'MobilenetV1/Predictions/Softmax', type: 'SOFTMAX', reason: 'test' }],
  expectsStaticShapeFallback: false,
  source: 'test',
  ...over,
});

const profile = (rows: [string, string, number][]): OpProfile => ({
  runOrder: rows.map(([nodeType, name, nodeIndex]) => ({ nodeType, name, nodeIndex, startMs: 0, firstMs: 1, avgMs: 1, percent: 1, cdfPercent: 1, memKb: null, timesCalled: 1 })),
  byNodeType: [],
  nodesExecuted: rows.length,
  init: [],
});

describe('prediction vs phone', () => {
  it('without a prediction, records null with the reason and no comparison; a run that did not complete is not compared', () => {
    expect(predictionRecord(null, measured(), null, NO_PREDICTION.noDelegate('xnnpack'))).toEqual({ prediction: null, reason: NO_PREDICTION.noDelegate('xnnpack'), comparison: null });
    expect(NO_PREDICTION.noDelegate('cpu')).toMatch(/Nothing to predict: the cpu run uses neither the NNAPI nor the GPU delegate/);
    expect(predictionRecord(predicted(), null, null)).toEqual({ prediction: predicted(), reason: null, comparison: null });
  });

  it("turns a pre-flight report into the stored prediction, with each CPU op's reason", () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4]);
    b.outputs = [b.relu('c', b.custom('u', b.relu('a', x)))];
    const p = predictionFromPreflight(preflight(b.build(), { delegate: 'gpu', androidApi: 33 }));
    expect(p).toEqual({
      delegate: 'gpu',
      nodesDelegated: 1,
      nodesTotal: 3,
      partitions: 2,
      cpuOps: [
        { index: 1, name: 'u', type: 'MysteryOp', reason: "the GPU delegate runs no custom op 'MysteryOp'" },
        { index: 2, name: 'c', type: 'RELU', reason: 'supported, but outside the 1 largest partition the delegate keeps' },
      ],
      expectsStaticShapeFallback: false,
      source: 'QuantLab delegate pre-flight 1, GPU at Android API 33',
    });
  });

  it('agrees when counts and CPU ops match', () => {
    const p = profile([['TfLiteGpuDelegateV2', 'MobilenetV1/Logits/AvgPool_1a/AvgPool', 30], ['SOFTMAX', 'MobilenetV1/Predictions/Softmax', 31]]);
    const c = compareDelegation(predicted(), measured(), p);
    expect(c).toMatchObject({ agrees: true, flags: [], nodesDelegatedDelta: 0, partitionsDelta: 0 });
    expect(c.measuredCpuOps).toEqual([{ index: 31, name: 'MobilenetV1/Predictions/Softmax', type: 'SOFTMAX' }]);
  });

  it('flags fewer nodes, more partitions and names the ops that fell back to the CPU', () => {
    const p = profile([
      ['TfLiteGpuDelegateV2', 'a', 10],
      ['TRANSPOSE_CONV', 'decoder/up1', 11],
      ['TfLiteGpuDelegateV2', 'b', 20],
      ['SOFTMAX', 'MobilenetV1/Predictions/Softmax', 31],
    ]);
    const c = compareDelegation(predicted(), measured({ nodesDelegated: 29, partitions: 2 }), p);
    expect(c.agrees).toBe(false);
    expect(c.flags.map((f) => f.code)).toEqual(['fewer-nodes-delegated', 'partitions-differ', 'ops-on-cpu-not-predicted']);
    expect(c.flags[2].ops).toEqual([{ index: 11, name: 'decoder/up1', type: 'TRANSPOSE_CONV' }]);
    expect(c.flags[2].message).toContain("TRANSPOSE_CONV 'decoder/up1' (#11)");
    expect(c).toMatchObject({ nodesDelegatedDelta: -1, partitionsDelta: 1 });
  });

  it('flags ops predicted on the CPU that the delegate took, and more nodes', () => {
    const p = profile([['TfLiteGpuDelegateV2', 'all', 0]]);
    const c = compareDelegation(predicted(), measured({ nodesDelegated: 31 }), p);
    expect(c.flags.map((f) => f.code)).toEqual(['more-nodes-delegated', 'ops-delegated-not-predicted']);
    expect(c.flags[1].ops).toEqual([{ index: 31, name: 'MobilenetV1/Predictions/Softmax', type: 'SOFTMAX' }]);
  });

  it('matches ops by name when the phone prints no indices', () => {
    const p = profile([['SOFTMAX', 'MobilenetV1/Predictions/Softmax', 0]]);
    p.runOrder[0].nodeIndex = null;
    p.runOrder.unshift({ ...p.runOrder[0], nodeType: 'TfLiteGpuDelegateV2', name: 'x' });
    expect(compareDelegation(predicted(), measured(), p).agrees).toBe(true);
  });

  it('flags a delegate that was not applied, with the static-shape reason, from a real log', () => {
    const log = parseBenchmarkLog(fs.readFileSync(path.resolve(__dirname, '../../../fixtures/benchmark-logs/modern-nnapi-static-shape.txt'), 'utf8'), 'nnapi');
    const c = compareDelegation(predicted({ delegate: 'nnapi', nodesDelegated: 40, nodesTotal: 44, partitions: 2, cpuOps: [] }), log.delegation, log.profile);
    expect(c.flags.map((f) => f.code)).toEqual(['static-shape-fallback', 'delegate-not-applied']);
    expect(c.flags[1].message).toMatch(/predicted 40 of 44 nodes on the nnapi delegate, but the phone delegated none \(dynamic-sized tensors\)/);
    // Predicted fallback: the warning alone is agreement.
    const c2 = compareDelegation(predicted({ delegate: 'nnapi', nodesDelegated: 0, partitions: 0, cpuOps: [], expectsStaticShapeFallback: true }), log.delegation, null);
    expect(c2.agrees).toBe(true);
  });

  it('flags an unexpected delegate, a different model, and a log that does not say', () => {
    expect(compareDelegation(predicted({ nodesDelegated: 0, partitions: 0 }), measured(), null).flags.map((f) => f.code)).toEqual([
      'delegate-applied-unexpectedly',
    ]);
    expect(compareDelegation(predicted(), measured({ nodesTotal: 50 }), null).flags.map((f) => f.code)).toEqual(['node-count-differs']);
    expect(compareDelegation(predicted(), measured({ nodesDelegated: null, partitions: null, nodesTotal: null }), null).flags.map((f) => f.code)).toEqual(['no-measurement']);
  });

  it('reads the CPU ops from a profile table, delegate kernels excluded', () => {
    const log = parseBenchmarkLog(fs.readFileSync(path.resolve(__dirname, '../../../fixtures/benchmark-logs/legacy-profile.txt'), 'utf8'), 'gpu');
    expect(measuredCpuOps(log.profile)).toEqual([{ index: 31, name: 'MobilenetV1/Predictions/Softmax', type: 'SOFTMAX' }]);
    expect(measuredCpuOps(null)).toBeNull();
  });
});
