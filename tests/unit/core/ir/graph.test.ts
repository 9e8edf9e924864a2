import { describe, expect, it } from 'vitest';
import {
  allocTensorData,
  consumers,
  dataMatchesDType,
  describeOp,
  dtypeSizeBytes,
  elementCount,
  formatShape,
  isOpaqueOp,
  producers,
  tensorByName,
  tensorDataBytes,
  tensorDataFromBytes,
  topologicalOpOrder,
} from '../../../../src/core/ir/graph';
import type { Graph, Op } from '../../../../src/core/ir/types';

const relu = (input: number, output: number): Op => ({ type: 'RELU', options: {}, inputs: [input], outputs: [output] });
const add = (a: number, b: number, output: number): Op => ({
  type: 'ADD',
  options: { fusedActivationFunction: 'NONE', potScaleInt16: true },
  inputs: [a, b],
  outputs: [output],
});

function chain(): Graph {
  // x(0) → relu → a(1) → relu → b(2); add(a, b) → c(3)
  return {
    name: 'main',
    tensors: ['x', 'a', 'b', 'c'].map((name) => ({ name, dtype: 'float32' as const, shape: [1, 4] })),
    ops: [relu(0, 1), relu(1, 2), add(1, 2, 3)],
    inputs: [0],
    outputs: [3],
  };
}

describe('dtype facts', () => {
  it('knows element sizes', () => {
    expect(['float32', 'float16', 'int8', 'uint8', 'int16', 'int32', 'int64', 'bool'].map((d) => dtypeSizeBytes(d as never))).toEqual([4, 2, 1, 1, 2, 4, 8, 1]);
  });

  it('counts elements, with NaN for unknown dims', () => {
    expect(elementCount([2, 3, 4])).toBe(24);
    expect(elementCount([])).toBe(1);
    expect(elementCount([0, 5])).toBe(0);
    expect(elementCount([-1, 3])).toBeNaN();
    expect(formatShape([-1, 3])).toBe('[?,3]');
  });

  it('converts bytes to typed arrays and back (copying, aligned)', () => {
    const source = new Uint8Array([0, 0, 128, 63, 0, 0, 0, 192, 9]);
    const floats = tensorDataFromBytes('float32', source.subarray(0, 8)) as Float32Array;
    expect(Array.from(floats)).toEqual([1, -2]);
    source[2] = 0;
    expect(floats[0]).toBe(1); // a copy
    const odd = tensorDataFromBytes('int16', source.subarray(1, 5)); // unaligned source is fine
    expect(odd).toBeInstanceOf(Int16Array);
    expect(Array.from(tensorDataBytes(new Int16Array([1, -1])))).toEqual([1, 0, 255, 255]);
    expect(dataMatchesDType('bool', allocTensorData('bool', 2))).toBe(true);
    expect(dataMatchesDType('int8', new Uint8Array(2))).toBe(false);
    expect(allocTensorData('int64', 3)).toBeInstanceOf(BigInt64Array);
  });
});

describe('graph look-ups', () => {
  it('finds tensors, producers and consumers', () => {
    const g = chain();
    expect(tensorByName(g, 'b')?.name).toBe('b');
    expect(tensorByName(g, 'nope')).toBeUndefined();
    expect(producers(g)).toEqual([-1, 0, 1, 2]);
    expect(consumers(g)).toEqual([[0], [1, 2], [2], []]);
    expect(describeOp(g, 2)).toBe("op 2 (ADD 'c')");
    expect(isOpaqueOp({ type: 'CUSTOM', code: 'X', inputs: [], outputs: [] })).toBe(true);
    expect(isOpaqueOp(g.ops[0])).toBe(false);
  });

  it('lists an op reading a tensor twice once', () => {
    const g = chain();
    g.ops[2] = add(1, 1, 3);
    expect(consumers(g)[1]).toEqual([1, 2]);
  });

  it('orders ops topologically, keeping an ordered graph as it is', () => {
    const g = chain();
    expect(topologicalOpOrder(g)).toEqual({ order: [0, 1, 2] });
    g.ops = [g.ops[2], g.ops[1], g.ops[0]];
    expect(topologicalOpOrder(g).order).toEqual([2, 1, 0]);
  });

  it('finds an op on a cycle', () => {
    const g = chain();
    g.ops[0] = add(0, 2, 1); // a = x + b, b = relu(a): a cycle
    const { order, cycle } = topologicalOpOrder(g);
    expect(order).toEqual([]);
    expect([0, 1]).toContain(cycle);
  });
});
