import { describe, expect, it } from 'vitest';
import { fuseActivations } from '../../../../src/core/ir/transforms';
import type { Graph } from '../../../../src/core/ir/types';
import { Interpreter } from '../../../../src/core/runtime/interpreter';

function convRelu(act: 'RELU' | 'RELU6', extraReader = false): Graph {
  const w = Float32Array.from({ length: 4 * 3 * 3 * 2 }, (_, i) => Math.sin(i * 1.7) * 2);
  const ops: Graph['ops'] = [
    { type: 'CONV_2D', inputs: [0, 1, -1], outputs: [2], options: { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' } },
    { type: act, inputs: [2], outputs: [3], options: {} },
  ];
  if (extraReader) ops.push({ type: 'RELU6', inputs: [2], outputs: [4], options: {} });
  return {
    name: 'g',
    tensors: [
      { name: 'x', dtype: 'float32', shape: [1, 5, 5, 2] },
      { name: 'w', dtype: 'float32', shape: [4, 3, 3, 2], data: w },
      { name: 'conv', dtype: 'float32', shape: [1, 5, 5, 4] },
      { name: 'act', dtype: 'float32', shape: [1, 5, 5, 4] },
      { name: 'other', dtype: 'float32', shape: [1, 5, 5, 4] },
    ],
    ops,
    inputs: [0],
    outputs: extraReader ? [3, 4] : [3],
  };
}

describe('fuseActivations', () => {
  it.each(['RELU', 'RELU6'] as const)('folds a standalone %s into the conv before it, with identical outputs', (act) => {
    const g = convRelu(act);
    const { graph, fused } = fuseActivations(g);
    expect(fused).toBe(1);
    expect(graph.ops).toHaveLength(1);
    expect(graph.ops[0].type === 'CONV_2D' && graph.ops[0].options.fusedActivationFunction).toBe(act);
    expect(graph.tensors[graph.outputs[0]].name).toBe('act');
    const x = Float32Array.from({ length: 50 }, (_, i) => Math.cos(i) * 3);
    expect(Interpreter.prepare(graph).run([x]).outputs[0]).toEqual(Interpreter.prepare(g).run([x]).outputs[0]);
  });

  it('leaves the pattern alone when the conv output has another reader', () => {
    const { graph, fused } = fuseActivations(convRelu('RELU', true));
    expect(fused).toBe(0);
    expect(graph.ops).toHaveLength(3);
  });
});
