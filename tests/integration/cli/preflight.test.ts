/**
 * `quantlab preflight`: the report as JSON and text, --fix writing a fixed model that passes the
 * pre-flight, and the usage errors. In-process through main() (one spawn of the real bin).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import { mnistDynamicBatch } from '../../unit/core/analysis/preflight-graphs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-preflight-'));
const BIN = path.resolve('bin/quantlab.mjs');
const SELFIE = path.resolve('node_modules/@mediapipe/selfie_segmentation/selfie_segmentation.tflite');

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

interface Report {
  findings: { kind: string; opIndex: number | null; message: string }[];
  nodesDelegated: number;
  nodesTotal: number;
  partitions: number;
  delegatedPartitions: number;
  fixed: null | { out: string; results: { fix: string; applied: boolean; error: { maxAbs: number; relativeL2: number } | null }[]; after: Report };
}

describe('quantlab preflight', () => {
  const mnist = path.join(tmp, 'mnist-dynamic.tflite');
  fs.writeFileSync(mnist, writeTflite({ format: 'tflite', subgraphs: [mnistDynamicBatch()] }));

  it('the example with a dynamic batch: exactly the dynamic shape; --fix batch writes a model that passes', async () => {
    const r = await run(['preflight', mnist, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report & { expectsStaticShapeFallback: boolean };
    expect(report.findings.map((f) => f.kind)).toEqual(['dynamic-shape']);
    expect(report).toMatchObject({ nodesDelegated: 0, nodesTotal: 4, expectsStaticShapeFallback: true, fixed: null });

    const out = path.join(tmp, 'mnist-fixed.tflite');
    const f = await run(['preflight', mnist, '--fix', 'batch', '--out', out, '--json']);
    expect(f.code, f.stderr).toBe(0);
    const fixed = (JSON.parse(f.stdout) as Report).fixed!;
    expect(fixed.results).toMatchObject([{ fix: 'batch', applied: true, error: null }]);
    expect(fixed.after.findings).toEqual([]);
    const g = readTflite(new Uint8Array(fs.readFileSync(out)), out).subgraphs[0];
    expect(g.tensors[g.inputs[0]].shape).toEqual([1, 28, 28, 1]);
    expect(fs.readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    const again = await run(['preflight', out, '--delegate', 'gpu', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ findings: [], nodesDelegated: 4, partitions: 1 });
  });

  it('selfie segmentation on NNAPI: the custom transpose convolution, the partitions, and the fix with its error', async () => {
    const out = path.join(tmp, 'selfie-fixed.tflite');
    const r = await run(['preflight', SELFIE, '--delegate', 'nnapi', '--android-api', '30', '--fix', 'transpose-conv', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.findings.map((f) => [f.kind, f.opIndex])).toEqual([['custom-op-not-supported', 244]]);
    expect(report).toMatchObject({ nodesTotal: 246, nodesDelegated: 243, delegatedPartitions: 2, partitions: 3 });
    const fix = report.fixed!.results[0];
    expect(fix).toMatchObject({ fix: 'transpose-conv', applied: true });
    expect(fix.error!.relativeL2).toBeLessThan(1e-5);
    expect(report.fixed!.after).toMatchObject({ findings: [], nodesDelegated: 245, nodesTotal: 245, partitions: 1 });
  }, 60_000);

  it('prints the findings, the partitions and the fixes as text (the real bin)', () => {
    const r = spawnSync(process.execPath, [BIN, 'preflight', SELFIE, '--android-api', '29'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('NNAPI delegate at Android API 29');
    expect(r.stdout).toContain('prediction  NNAPI: 215 nodes delegated out of 246 nodes with 3 partitions (6 partitions for the whole graph)');
    expect(r.stdout).toMatch(/custom-op-not-supported +Op 244 \(CUSTOM Convolution2DTransposeBias 'segment'\) stays on the CPU/);
    expect(r.stdout).toMatch(/android-api-too-low +Op 167 \(RESIZE_BILINEAR 'up_sampling2d'\) stays on the CPU: half_pixel_centers needs NNAPI 1\.3 \(Android API 30\)\./);
    expect(r.stdout).toMatch(/Partitions \(6 for the whole graph, 3 delegated; the delegate keeps at most 3\)/);
    expect(r.stdout).toContain('--fix transpose-conv:');
  }, 60_000);

  it('usage: an unknown delegate is bad usage; --fix without --out is a user error', async () => {
    const bad = await run(['preflight', mnist, '--delegate', 'tpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'tpu' is not a delegate the pre-flight knows \(nnapi or gpu\)/);
    const noOut = await run(['preflight', mnist, '--fix', 'batch']);
    expect(noOut.code).toBe(1);
    expect(noOut.stderr).toMatch(/--fix needs --out FIXED\.tflite/);
    const same = await run(['preflight', mnist, '--fix', 'batch', '--out', mnist]);
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/is the model being checked/);
  });
});
