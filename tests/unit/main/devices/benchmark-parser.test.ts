import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBenchmarkLog, parseDelegationLine, parseStatLine, stripPrefix } from '../../../../src/main/devices/benchmark-parser';

const LOGS = path.resolve(__dirname, '../../../fixtures/benchmark-logs');
const log = (name: string) => fs.readFileSync(path.join(LOGS, name), 'utf8');

describe('benchmark_model log parser', () => {
  it('strips the log-level prefixes of every era', () => {
    expect(stripPrefix('INFO: count=3')).toBe('count=3');
    expect(stripPrefix('ERROR: Failed')).toBe('Failed');
    expect(stripPrefix('count=3\r')).toBe('count=3');
    expect(stripPrefix('Initialized session in 3ms.')).toBe('Initialized session in 3ms.');
  });

  it('reads statistics lines with and without percentiles', () => {
    expect(parseStatLine('count=80 first=12666 curr=12467 min=12395 max=13160 avg=12554.4 std=127')).toEqual({
      count: 80, firstUs: 12666, currUs: 12467, minUs: 12395, maxUs: 13160, avgUs: 12554.4, stdUs: 127, p5Us: null, medianUs: null, p95Us: null,
    });
    expect(parseStatLine('count=335 first=2980 curr=2901 min=2577 max=4655 avg=2978.12 std=301 p5=2621 median=2915 p95=3533')).toMatchObject({ p5Us: 2621, medianUs: 2915, p95Us: 3533 });
    expect(parseStatLine('Timings (microseconds): count=67 first=1')).toBeNull();
  });

  it('reads both forms of the delegation line', () => {
    expect(parseDelegationLine('Replacing 31 node(s) with delegate (TfLiteNnapiDelegate) node, yielding 1 partitions.')).toEqual({
      delegate: 'TfLiteNnapiDelegate', nodesDelegated: 31, nodesTotal: null, partitions: 1, form: 'old',
    });
    expect(parseDelegationLine('Replacing 64 out of 66 node(s) with delegate (TfLiteXNNPackDelegate) node, yielding 3 partitions for the whole graph.')).toEqual({
      delegate: 'TfLiteXNNPackDelegate', nodesDelegated: 64, nodesTotal: 66, partitions: 3, form: 'new',
    });
    expect(parseDelegationLine('Replacing 2 out of 5 node(s) with delegate (TfLiteGpuDelegateV2) node, yielding 1 partition(s) for subgraph 1.')).toMatchObject({ nodesDelegated: 2, nodesTotal: 5, partitions: 1 });
  });

  it('legacy (TF 2.1–2.3): no prefixes, old delegation line, the old "Average inference timings" line', () => {
    const p = parseBenchmarkLog(log('legacy-nnapi.txt'), 'nnapi');
    expect(p.complete).toBe(true);
    expect(p.latency).toMatchObject({ initUs: 1021680, firstUs: 15342, warmupAvgUs: 10642.7, avgUs: 10352.4, stdUs: 243, minUs: 10088, maxUs: 11460, count: 96, p5Us: null });
    expect(p.delegation).toMatchObject({ delegate: 'TfLiteNnapiDelegate', nodesDelegated: 31, nodesTotal: null, partitions: 1, staticShapeWarning: false });
    expect(p.memory).toEqual({ initMb: null, overallMb: null, peakMb: null });
    expect(p.tool.nnapiDelegateCreated).toBe(true);
    expect(p.profile).toBeNull();
    expect(p.errors).toEqual([]);
  });

  it('mid era: INFO on log lines only, new delegation line without "for the whole graph"', () => {
    const p = parseBenchmarkLog(log('mid-xnnpack.txt'), 'xnnpack');
    expect(p.latency).toMatchObject({ initUs: 61541, firstUs: 17386, warmupAvgUs: 12841.5, avgUs: 12554.4, stdUs: 127, minUs: 12395, maxUs: 13160, count: 80 });
    expect(p.latency.warmup).toMatchObject({ count: 39, avgUs: 12841.5 });
    expect(p.delegation).toMatchObject({ delegate: 'TfLiteXNNPackDelegate', nodesDelegated: 63, nodesTotal: 66, partitions: 3, coverage: 'partial' });
    expect(p.memory).toEqual({ initMb: 9.58594, overallMb: 11.4141, peakMb: null });
    expect(p.tool.xnnpackDelegateCreated).toBe(true);
  });

  it('modern: INFO everywhere, percentiles, GPU facts, peak memory', () => {
    const p = parseBenchmarkLog(log('modern-gpu.txt'), 'gpu');
    expect(p.latency).toMatchObject({ initUs: 412500, firstUs: 9127, warmupAvgUs: 3234.51, avgUs: 2978.12, stdUs: 301, p5Us: 2621, medianUs: 2915, p95Us: 3533 });
    expect(p.delegation).toMatchObject({ delegate: 'TfLiteGpuDelegateV2', nodesDelegated: 164, nodesTotal: 164, partitions: 1, coverage: 'complete' });
    expect(p.memory).toEqual({ initMb: 61.6758, overallMb: 64.2109, peakMb: 66.8594 });
    expect(p.tool).toMatchObject({ gpuDelegateCreated: true, gpuApi: 'OpenCL', gpuKernels: 1 });
  });

  it('the static-shape warning: delegate not applied, zero nodes delegated, the run still timed', () => {
    const p = parseBenchmarkLog(log('modern-nnapi-static-shape.txt'), 'nnapi');
    expect(p.complete).toBe(true);
    expect(p.delegation).toMatchObject({ staticShapeWarning: true, delegateNotApplied: true, nodesDelegated: 0, partitions: 0, delegate: null, coverage: 'none' });
    expect(p.warnings[0]).toContain('static-sized tensors');
    expect(p.tool.nnapiAccelerators).toEqual(['google-edgetpu', 'nnapi-reference']);
    expect(p.latency.avgUs).toBe(23640.2);
  });

  it('op profiling tables (modern, with init section and [mem KB])', () => {
    const p = parseBenchmarkLog(log('modern-cpu-profile.txt'), 'cpu');
    expect(p.delegation).toMatchObject({ delegate: null, nodesDelegated: null, lines: [] });
    expect(p.latency).toMatchObject({ avgUs: 699.4, count: 1412, medianUs: 696 });
    const prof = p.profile!;
    expect(prof.nodesExecuted).toBe(5);
    expect(prof.init).toEqual([expect.objectContaining({ nodeType: 'AllocateTensors', name: 'AllocateTensors/0', avgMs: 0.412, memKb: 112 })]);
    expect(prof.runOrder.map((r) => r.nodeType)).toEqual(['CONV_2D', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX']);
    expect(prof.runOrder[3]).toEqual({
      nodeType: 'FULLY_CONNECTED', name: 'sequential/dense/MatMul;sequential/dense/BiasAdd', nodeIndex: 3, startMs: 0.272, firstMs: 0.401, avgMs: 0.405, percent: 59.384, cdfPercent: 98.974, memKb: 0, timesCalled: 1,
    });
    expect(prof.byNodeType).toHaveLength(5);
    expect(prof.byNodeType[0]).toEqual({ nodeType: 'FULLY_CONNECTED', count: 1, avgMs: 0.405, percent: 59.384, cdfPercent: 59.384, memKb: 0, timesCalled: 1 });
    // The profile's own "Timings" line is not mistaken for the benchmark's statistics.
    expect(p.latency.count).toBe(1412);
  });

  it('op profiling tables (legacy, no [mem KB] column, delegate node in the table, old memory wording)', () => {
    const p = parseBenchmarkLog(log('legacy-profile.txt'), 'gpu');
    expect(p.delegation).toMatchObject({ delegate: 'TfLiteGpuDelegateV2', nodesDelegated: 30, nodesTotal: null, partitions: 2 });
    expect(p.memory).toMatchObject({ initMb: 52.2539, overallMb: 56.4531 });
    expect(p.profile!.runOrder).toEqual([
      expect.objectContaining({ nodeType: 'TfLiteGpuDelegateV2', nodeIndex: 30, avgMs: 14.501, memKb: null, timesCalled: 1 }),
      expect.objectContaining({ nodeType: 'SOFTMAX', name: 'MobilenetV1/Predictions/Softmax', nodeIndex: 31, percent: 2.588 }),
    ]);
    expect(p.profile!.byNodeType.map((r) => r.nodeType)).toEqual(['TfLiteGpuDelegateV2', 'SOFTMAX']);
    expect(p.latency).toMatchObject({ initUs: 1234560, firstUs: 28362, avgUs: 14912 });
  });

  it('a failed run: no timings, the errors and the accelerator list kept', () => {
    const p = parseBenchmarkLog(log('nnapi-accelerator-list.txt'), 'nnapi');
    expect(p.complete).toBe(false);
    expect(p.tool.nnapiAccelerators).toEqual(['qti-dsp', 'qti-gpu', 'qti-default', 'nnapi-reference']);
    expect(p.errors).toContain('Benchmarking failed.');
    expect(p.errors[0]).toContain('Could not find the specified NNAPI accelerator');
  });

  it('picks the requested delegate when several lines are printed, and tolerates garbage', () => {
    const text = [
      'INFO: Replacing 60 out of 66 node(s) with delegate (TfLiteXNNPackDelegate) node, yielding 2 partitions for the whole graph.',
      'INFO: Replacing 66 out of 66 node(s) with delegate (TfLiteGpuDelegateV2) node, yielding 1 partitions for the whole graph.',
      '\u0000\u00ff garbage count= avg=',
    ].join('\n');
    expect(parseBenchmarkLog(text, 'xnnpack').delegation).toMatchObject({ delegate: 'TfLiteXNNPackDelegate', nodesDelegated: 60, lines: [{}, {}] });
    expect(parseBenchmarkLog(text, 'gpu').delegation).toMatchObject({ delegate: 'TfLiteGpuDelegateV2', nodesDelegated: 66 });
    expect(parseBenchmarkLog('', 'cpu')).toMatchObject({ complete: false, profile: null, errors: [] });
  });
});
