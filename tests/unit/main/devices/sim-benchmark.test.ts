/**
 * The parser against the simulated benchmark_model's output in every era, delegate, percentile
 * and profiling variant: what the parser reads must be exactly what the tool printed.
 */
import { describe, expect, it } from 'vitest';
import { parseBenchmarkLog } from '../../../../src/main/devices/benchmark-parser';
import { benchmarkArgv } from '../../../../src/main/devices/bench';
import { DEFAULT_SCENARIO, runSimBenchmark, type BenchFormat } from '../../../fixtures/sim-device/benchmark';
import { Vfs } from '../../../fixtures/sim-device/vfs';

const vfs = new Vfs();
vfs.write('/data/local/tmp/m.tflite', Buffer.alloc(1000));

describe('parser × simulated benchmark_model', () => {
  for (const format of ['legacy', 'mid', 'modern'] as BenchFormat[]) {
    for (const percentiles of [false, true]) {
      for (const delegate of ['cpu', 'xnnpack', 'gpu', 'nnapi'] as const) {
        it(`${format}${percentiles ? ' with percentiles' : ''}, ${delegate}`, () => {
          const argv = benchmarkArgv('/data/local/tmp/bm', '/data/local/tmp/m.tflite', { delegate, threads: 4 }, { runs: 20, warmup: 2, profile: true, extraFlags: [] });
          const scenario = { ...DEFAULT_SCENARIO, format, percentiles, delegates: { gpu: { delegated: 29, partitions: 2 } } };
          const out = runSimBenchmark(argv, scenario, vfs);
          const p = parseBenchmarkLog(out.head + out.tail, delegate);
          const truth = out.record.printed!;
          expect(p.complete).toBe(true);
          expect(p.latency).toMatchObject({
            initUs: truth.initUs,
            firstUs: truth.firstUs,
            warmupAvgUs: truth.warmupAvgUs,
            avgUs: truth.avgUs,
            stdUs: truth.stdUs,
            minUs: truth.minUs,
            maxUs: truth.maxUs,
            count: 20,
            p5Us: truth.p5Us,
            medianUs: truth.medianUs,
            p95Us: truth.p95Us,
          });
          expect(p.memory).toMatchObject({ initMb: truth.initMb, overallMb: truth.overallMb });
          const d = out.record.delegation;
          if (d) {
            expect(p.delegation).toMatchObject({ delegate: d.name, nodesDelegated: d.delegated, partitions: d.partitions, nodesTotal: format === 'legacy' ? null : d.total });
            expect(p.delegation.lines[0].form).toBe(format === 'legacy' ? 'old' : 'new');
          } else expect(p.delegation.lines).toEqual([]);
          const prof = p.profile!;
          expect(prof.runOrder.length).toBeGreaterThan(0);
          if (delegate === 'gpu') {
            expect(prof.runOrder.filter((r) => r.nodeType === 'TfLiteGpuDelegateV2')).toHaveLength(1);
            expect(prof.runOrder.filter((r) => r.nodeType !== 'TfLiteGpuDelegateV2').map((r) => r.nodeIndex)).toEqual([29, 30]);
          }
          expect(prof.byNodeType.reduce((a, r) => a + (r.count ?? 0), 0)).toBe(prof.runOrder.length);
          expect(prof.runOrder.every((r) => (r.memKb === null) === (format === 'legacy'))).toBe(true);
        });
      }
    }
  }

  it('dynamic shapes: the warning, no delegation, still timed', () => {
    const argv = benchmarkArgv('/b', '/data/local/tmp/m.tflite', { delegate: 'nnapi', threads: 1 }, { runs: 5, warmup: 1, profile: false, extraFlags: [] });
    const out = runSimBenchmark(argv, { ...DEFAULT_SCENARIO, dynamicShapes: true }, vfs);
    const p = parseBenchmarkLog(out.head + out.tail, 'nnapi');
    expect(p.delegation).toMatchObject({ staticShapeWarning: true, delegateNotApplied: true, nodesDelegated: 0 });
    expect(p.tool.nnapiAccelerators).toEqual(DEFAULT_SCENARIO.nnapiAccelerators);
  });

  it('an unknown NNAPI accelerator fails and lists the real ones', () => {
    const argv = benchmarkArgv('/b', '/data/local/tmp/m.tflite', { delegate: 'nnapi', threads: 1, accelerator: 'nope' }, { runs: 5, warmup: 1, profile: false, extraFlags: [] });
    const out = runSimBenchmark(argv, DEFAULT_SCENARIO, vfs);
    expect(out.exitCode).toBe(1);
    const p = parseBenchmarkLog(out.head, 'nnapi');
    expect(p.complete).toBe(false);
    expect(p.tool.nnapiAccelerators).toEqual(['qti-dsp', 'qti-gpu', 'nnapi-reference']);
  });
});
