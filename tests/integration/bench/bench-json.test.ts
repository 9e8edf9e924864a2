/**
 * `npm run bench -- --json`, the command the README's speed figures come from, in its quick form
 * on the MobileNet-style net: its output is one JSON object whose `ratios` carry the three
 * headline ratios, every QuantLab int8 row computed the same outputs as the interpreter on its
 * TypeScript kernels, and onnxruntime really ran the integer graphs (QLinearConv, not float Conv).
 * No figure is asserted: speed is measured by the bench, never by a test.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../../..');

interface BenchJson {
  ratios: Record<string, number>;
  ratiosMethod: string;
  headlineRounding: string;
  nets: {
    name: string;
    batch1: Record<string, { imagesPerSecond: number }>;
    batch64: Record<string, { imagesPerSecond: number }>;
    duelsBatch1: Record<string, { ratio: number; ratios: number[] }>;
    checks: Record<string, { differingFromTsKernels?: number; maxAbsVsFloat: number }>;
    ortOptimizedOps: Record<string, Record<string, number>>;
  }[];
}

describe('bench --json (quick, MobileNet-style net)', () => {
  it('prints one JSON object with the headline ratios, exact int8 rows and ORT on its integer kernels', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/index.ts', '--json', '--quick', '--net', 'mobilenet'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as BenchJson;

    expect(Object.keys(out.ratios).sort()).toEqual(['quantlabVsOrtInt8', 'quantlabVsOrtU8S8', 'quantlabVsTfjsWasm']);
    for (const v of Object.values(out.ratios)) expect(Number.isFinite(v) && v > 0).toBe(true);
    expect(out.headlineRounding).toBe('xnnpack');

    expect(out.nets.map((n) => n.name)).toEqual(['mobilenet-v1-0.25-96']);
    const net = out.nets[0];
    // the headline ratios are the duels' medians
    expect(out.ratios.quantlabVsOrtInt8).toBe(net.duelsBatch1.quantlabVsOrtInt8.ratio);
    for (const key of ['quantlab-int8', 'ort-int8', 'ort-u8s8', 'tfjs-wasm']) {
      expect(net.batch1[key].imagesPerSecond).toBeGreaterThan(0);
      expect(net.batch64[key].imagesPerSecond).toBeGreaterThan(0);
    }
    for (const key of ['quantlab-int8', 'quantlab-int8-double-rounding', 'quantlab-int8-single-rounding', 'quantlab-int8-engine-only']) {
      expect(net.checks[key].differingFromTsKernels, key).toBe(0);
    }
    // ORT fused both QDQ twins into integer kernels; the float twin stays float
    for (const twin of ['int8', 'u8s8']) {
      expect(net.ortOptimizedOps[twin].QLinearConv, twin).toBe(27);
      expect(net.ortOptimizedOps[twin].Conv, twin).toBeUndefined();
    }
    expect(net.ortOptimizedOps.float32.Conv).toBe(27);
  }, 360_000);
});
