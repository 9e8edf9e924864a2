import { describe, expect, it } from 'vitest';
import { findingKinds, partitionNodes, preflight } from '../../../../src/core/analysis/preflight';
import { fixBatchSize } from '../../../../src/core/analysis/preflight-fixes';
import { float32ArrayToFloat16 } from '../../../../src/core/ir/float16';
import { GraphBuilder, mnistDynamicBatch } from './preflight-graphs';

describe('pre-flight: shapes', () => {
  for (const delegate of ['nnapi', 'gpu'] as const) {
    it(`${delegate}: the example with a dynamic batch flags exactly the dynamic shape, and the batch fix removes it`, () => {
      const g = mnistDynamicBatch();
      const r = preflight(g, { delegate, androidApi: 30 });
      expect(findingKinds(r)).toEqual(['dynamic-shape']);
      expect(r.findings).toHaveLength(1);
      expect(r.findings[0]).toMatchObject({ opIndex: 0, opName: 'conv', opType: 'CONV_2D', tensor: 'input', fix: 'batch' });
      expect(r.findings[0].message).toMatch(/Input 'input' has shape \[\?,28,28,1\] with an unknown batch size, read by op 0 \(CONV_2D 'conv'\)/);
      // The delegate is refused for the whole graph; with static shapes it would take all 4 nodes.
      expect(r).toMatchObject({ staticShapes: false, expectsStaticShapeFallback: true, nodesDelegated: 0, nodesTotal: 4, partitions: 0 });
      expect(r.whenStatic).toEqual({ nodesTotal: 4, nodesDelegated: 4, delegatedPartitions: 1, partitions: 1 });
      expect(r.fixes.map((f) => f.id)).toEqual(['batch']);

      const fixed = fixBatchSize(g);
      expect(fixed.applied).toBe(true);
      expect(fixed.graph.tensors[fixed.graph.outputs[0]].shape).toEqual([1, 10]);
      expect(g.tensors[g.inputs[0]].shape).toEqual([-1, 28, 28, 1]); // the argument is untouched
      const again = preflight(fixed.graph, { delegate, androidApi: 30 });
      expect(again.findings).toEqual([]);
      expect(again).toMatchObject({ staticShapes: true, nodesDelegated: 4, delegatedPartitions: 1, partitions: 1 });
      expect(again.summary).toBe(`${delegate === 'nnapi' ? 'NNAPI' : 'GPU'}: 4 nodes delegated out of 4 nodes with 1 partitions (1 partitions for the whole graph)`);
    });
  }
});

describe('pre-flight: partitions, against counts by hand', () => {
  it('a chain broken by one unsupported op: delegate, CPU, delegate', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 4, 2]);
    const a = b.relu('a', x);
    const u = b.custom('u', a);
    const c = b.relu('c', u);
    b.outputs = [b.relu('d', c)];
    const r = preflight(b.build(), { delegate: 'nnapi', androidApi: 30 });
    expect(r.partitionList).toEqual([
      { delegated: true, nodes: [0] },
      { delegated: false, nodes: [1] },
      { delegated: true, nodes: [2, 3] },
    ]);
    expect(r).toMatchObject({ nodesDelegated: 3, nodesTotal: 4, delegatedPartitions: 2, partitions: 3 });
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ kind: 'custom-op-not-supported', opIndex: 1, opName: 'u', opType: 'MysteryOp' });
    expect(r.findings[0].message).toMatch(/^Op 1 \(CUSTOM MysteryOp 'u'\) stays on the CPU: the NNAPI delegate runs no custom op 'MysteryOp'\.$/);
  });

  it("nodes independent of the CPU op join the first partition (TFLite's partitioning, not runs in order)", () => {
    // 0 a = relu(x); 1 u = custom(a); 2 c = relu(x); 3 d = add(u, c).
    // Round 1 (kind of node 0: delegated) takes 0 and 2 (2 reads only x); round 2 takes 1; round 3 takes 3.
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 4, 2]);
    const a = b.relu('a', x);
    const u = b.custom('u', a);
    const c = b.relu('c', x);
    b.outputs = [b.add('d', u, c)];
    const g = b.build();
    expect(partitionNodes(g, (i) => i !== 1)).toEqual([
      { delegated: true, nodes: [0, 2] },
      { delegated: false, nodes: [1] },
      { delegated: true, nodes: [3] },
    ]);
    expect(preflight(g, { delegate: 'gpu', androidApi: 30, maxPartitions: 8 })).toMatchObject({ nodesDelegated: 3, delegatedPartitions: 2, partitions: 3 });
  });

  it('the GPU delegate keeps its largest partition only; the rest runs on the CPU', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 4, 2]);
    const u = b.custom('u', b.relu('a', x));
    b.outputs = [b.relu('d', b.relu('c', u))];
    const r = preflight(b.build(), { delegate: 'gpu', androidApi: 30 });
    // Candidates {0} and {2,3}; GPU keeps 1 partition: {2,3}. Then the CPU round takes 0 and 1.
    expect(r.partitionList).toEqual([
      { delegated: false, nodes: [0, 1] },
      { delegated: true, nodes: [2, 3] },
    ]);
    expect(r).toMatchObject({ partitionLimit: 1, nodesDelegated: 2, delegatedPartitions: 1, partitions: 2 });
    expect(findingKinds(r)).toEqual(['custom-op-not-supported', 'partition-limit']);
    expect(r.findings[1]).toMatchObject({ opIndex: 0, opName: 'a', opType: 'RELU', severity: 'warning' });
    expect(r.ops.map((o) => o.delegated)).toEqual([false, false, true, true]);
  });

  it('NNAPI keeps its 3 largest of 4 partitions (ties in execution order)', () => {
    // S U S U S U S S: candidates {0} {2} {4} {6,7}; kept {6,7} {0} {2}; node 4 falls back.
    // Final rounds: D{0} C{1} D{2} C{3,4,5} D{6,7} = 5 partitions, 3 of them delegated.
    const b = new GraphBuilder();
    let t = b.input('x', [1, 4]);
    for (const [k, kind] of ['S', 'U', 'S', 'U', 'S', 'U', 'S', 'S'].entries()) t = kind === 'S' ? b.relu(`s${k}`, t) : b.custom(`u${k}`, t);
    b.outputs = [t];
    const r = preflight(b.build(), { delegate: 'nnapi', androidApi: 30 });
    expect(r).toMatchObject({ partitionLimit: 3, nodesDelegated: 4, nodesTotal: 8, delegatedPartitions: 3, partitions: 5 });
    expect(r.ops.filter((o) => o.delegated).map((o) => o.index)).toEqual([0, 2, 6, 7]);
    expect(r.findings.filter((f) => f.kind === 'partition-limit').map((f) => f.opIndex)).toEqual([4]);
  });

  it('float16 weights go with the op that reads them and never split a partition', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 4, 2]);
    const w16 = b.tensor('w16', [3, 1, 1, 2], undefined, 'float16');
    b.tensors[w16].data = float32ArrayToFloat16(new Float32Array(6).fill(0.5));
    const w = b.tensor('w', [3, 1, 1, 2]);
    b.op({ type: 'DEQUANTIZE', name: 'w', inputs: [w16], outputs: [w], options: {} });
    const bias = b.weights('b', [3]);
    const y = b.tensor('y', [1, 4, 4, 3]);
    b.op({ type: 'CONV_2D', name: 'conv', inputs: [x, w, bias], outputs: [y], options: { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' } });
    b.outputs = [b.custom('tail', y)];
    for (const delegate of ['nnapi', 'gpu'] as const) {
      const r = preflight(b.build(), { delegate, androidApi: 30 });
      expect(r.ops[0]).toMatchObject({ foldedWeights: true, supported: true, delegated: true });
      expect(r).toMatchObject({ nodesDelegated: 2, delegatedPartitions: 1, partitions: 2 });
    }
  });
});

describe('pre-flight: NNAPI rules by Android level', () => {
  function convGraph(opts: { dtype?: 'int8' | 'float32'; perChannel?: boolean; dilation?: number; version?: number; activation?: 'TANH' | 'RELU' } = {}) {
    const b = new GraphBuilder();
    const dt = opts.dtype ?? 'float32';
    const x = b.input('x', [1, 8, 8, 2]);
    b.tensors[x].dtype = dt;
    const w = b.weights('w', [4, 3, 3, 2]);
    const bias = b.weights('b', [4]);
    const y = b.tensor('y', [1, 8, 8, 4]);
    if (dt === 'int8') {
      b.tensors[x].quant = { scale: [0.1], zeroPoint: [3] };
      b.tensors[w] = { ...b.tensors[w], dtype: 'int8', data: new Int8Array(72), quant: opts.perChannel ? { scale: [0.1, 0.1, 0.1, 0.1], zeroPoint: [0, 0, 0, 0], axis: 0 } : { scale: [0.1], zeroPoint: [0] } };
      b.tensors[bias] = { ...b.tensors[bias], dtype: 'int32', data: new Int32Array(4) };
      b.tensors[y].dtype = 'int8';
      b.tensors[y].quant = { scale: [0.2], zeroPoint: [-1] };
    }
    const d = opts.dilation ?? 1;
    b.op({ type: 'CONV_2D', name: 'conv', version: opts.version, inputs: [x, w, bias], outputs: [y], options: { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: d, dilationHFactor: d, fusedActivationFunction: opts.activation ?? 'NONE' } });
    b.outputs = [y];
    return b.build();
  }
  const kindsAt = (g: ReturnType<typeof convGraph>, api: number) => findingKinds(preflight(g, { delegate: 'nnapi', androidApi: api }));

  it('int8 convolutions from API 29 (per-channel weights too), none below', () => {
    expect(kindsAt(convGraph({ dtype: 'int8' }), 28)).toEqual(['android-api-too-low']);
    expect(kindsAt(convGraph({ dtype: 'int8' }), 29)).toEqual([]);
    const r = preflight(convGraph({ dtype: 'int8', perChannel: true }), { delegate: 'nnapi', androidApi: 28 });
    expect(r.findings[0].message).toMatch(/int8 data needs NNAPI 1\.2 \(Android API 29\); per-channel int8 weights needs NNAPI 1\.2 \(Android API 29\)/);
    expect(r.notes.join(' ')).toMatch(/no signed int8/);
    expect(kindsAt(convGraph({ dtype: 'int8', perChannel: true }), 30)).toEqual([]);
  });

  it('dilation from API 29, op versions above 3 never, TANH fused activation never; NNAPI needs API 27', () => {
    expect(kindsAt(convGraph({ dilation: 2 }), 28)).toEqual(['android-api-too-low']);
    expect(kindsAt(convGraph({ dilation: 2 }), 29)).toEqual([]);
    expect(kindsAt(convGraph({ version: 5 }), 33)).toEqual(['op-version-too-new']);
    expect(kindsAt(convGraph({ activation: 'TANH' }), 33)).toEqual(['options-not-supported']);
    expect(kindsAt(convGraph(), 26)).toEqual(['delegate-unavailable']);
    expect(preflight(convGraph(), { delegate: 'nnapi', androidApi: 26 })).toMatchObject({ nodesDelegated: 0, partitions: 0 });
  });

  it('the GPU takes the int8 model (dequantized) and refuses int32 data', () => {
    expect(findingKinds(preflight(convGraph({ dtype: 'int8', perChannel: true }), { delegate: 'gpu', androidApi: 24 }))).toEqual([]);
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4]);
    b.tensors[x].dtype = 'int32';
    const y = b.tensor('y', [1, 4], undefined, 'int32');
    b.op({ type: 'ADD', name: 'add', inputs: [x, x], outputs: [y], options: { fusedActivationFunction: 'NONE', potScaleInt16: false } });
    b.outputs = [y];
    expect(findingKinds(preflight(b.build(), { delegate: 'gpu', androidApi: 30 }))).toEqual(['dtype-not-supported']);
  });
});
