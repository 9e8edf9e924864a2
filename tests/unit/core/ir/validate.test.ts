import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../../../src/core/errors';
import { assertValidModel, validateGraph, validateModel } from '../../../../src/core/ir/validate';
import type { Graph, Op } from '../../../../src/core/ir/types';

const add = (a: number, b: number, out: number): Op => ({ type: 'ADD', options: { fusedActivationFunction: 'NONE', potScaleInt16: true }, inputs: [a, b], outputs: [out] });

function good(): Graph {
  return {
    name: 'main',
    tensors: [
      { name: 'x', dtype: 'float32', shape: [1, 2] },
      { name: 'b', dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) },
      { name: 'y', dtype: 'float32', shape: [1, 2] },
      { name: 'z', dtype: 'float32', shape: [1, 2] },
    ],
    ops: [add(0, 1, 2), { type: 'RELU', options: {}, inputs: [2], outputs: [3] }],
    inputs: [0],
    outputs: [3],
  };
}

const errors = (g: Graph) => validateGraph(g).filter((i) => i.severity === 'error').map((i) => i.message);

describe('validateGraph', () => {
  it('accepts a sound graph', () => {
    expect(validateGraph(good())).toEqual([]);
  });

  it('reports dangling indices', () => {
    const g = good();
    g.ops[0].inputs = [0, 9];
    g.outputs = [12];
    expect(errors(g)).toEqual([
      "Graph 'main': output 0 refers to tensor 12, but the graph has 4 tensors.",
      "Graph 'main': op 0 (ADD) input 1 refers to tensor 9, but the graph has 4 tensors.",
    ]);
  });

  it('reports a cycle through a named op', () => {
    const g = good();
    g.ops[0] = add(0, 3, 2); // y = x + z, z = relu(y)
    expect(errors(g)).toContain("Graph 'main' has a cycle through op 0 (ADD 'y').");
  });

  it('reports a tensor produced twice', () => {
    const g = good();
    g.ops.push({ type: 'RELU', options: {}, inputs: [0], outputs: [3] });
    expect(errors(g)).toContain("Graph 'main': tensor 'z' (index 3) is produced twice, by op 1 (RELU 'z') and by op 2 (RELU 'z').");
  });

  it('reports reads of tensors nobody provides', () => {
    const g = good();
    g.inputs = [];
    expect(errors(g)).toContain("Graph 'main': op 0 (ADD 'y') reads tensor 'x' (index 0), which no op produces and which is neither a constant nor a graph input.");
  });

  it('accepts variables as providers', () => {
    const g = good();
    g.inputs = [];
    g.tensors[0].isVariable = true;
    expect(errors(g)).toEqual([]);
  });

  it('reports unknown op types and warns about opaque ones', () => {
    const g = good();
    g.ops[1] = { type: 'FROB', options: {}, inputs: [2], outputs: [3] } as unknown as Op;
    expect(errors(g)).toContain("Graph 'main': op 1 has unknown type 'FROB'.");
    const h = good();
    h.ops[1] = { type: 'UNKNOWN_BUILTIN', code: 'GATHER', builtinCode: 36, inputs: [2], outputs: [3] };
    expect(validateGraph(h)).toEqual([
      { severity: 'warning', message: "Graph 'main': op 1 (UNKNOWN_BUILTIN GATHER 'z') is a TFLite builtin QuantLab cannot run or quantize.", op: 1 },
    ]);
  });

  it('reports constants that do not fit, writes to constants, bad quantization and shape contradictions', () => {
    const g = good();
    g.tensors[1].data = new Float32Array(3);
    g.tensors[3].shape = [1, 3];
    g.tensors[0].quant = { scale: [0.1, 0.2], zeroPoint: [0, 0] };
    expect(errors(g)).toEqual([
      "Graph 'main': tensor 'x' (index 0) has per-axis quantization without a valid axis (axis undefined, shape [1,2]).",
      "Graph 'main': tensor 'b' (index 1) has shape [2] but holds 3 values.",
      "Graph 'main': op 1 (RELU 'z') produces shape [1,2] but tensor 'z' (index 3) is declared [1,3].",
    ]);
    const h = good();
    h.ops[1].outputs = [1];
    h.outputs = [1];
    expect(errors(h)).toContain("Graph 'main': op 1 (RELU 'b') writes tensor 'b' (index 1), which is a constant.");
  });

  it('reports bad options and impossible shapes', () => {
    const g = good();
    g.tensors[1].shape = [3];
    g.tensors[1].data = new Float32Array(3);
    expect(errors(g)).toEqual(["Graph 'main': op 0 (ADD 'y') has impossible shapes: shapes [1,2] and [3] cannot be broadcast together."]);
  });

  it('checks signatures and throws a summary on demand', () => {
    const model = { format: 'tflite' as const, subgraphs: [good()], signatures: [{ key: 's', subgraph: 1, inputs: [], outputs: [] }] };
    expect(validateModel(model).map((i) => i.message)).toEqual(["Signature 's' refers to graph 1, which does not exist."]);
    expect(() => assertValidModel(model)).toThrow(UnsupportedError);
    expect(() => assertValidModel({ format: 'tflite', subgraphs: [good()] })).not.toThrow();
  });
});
