/**
 * lint-quant.ts: every rule fires with a sentence naming the tensor and the value, a valid int8
 * graph passes, and Interpreter.prepare refuses a broken graph before it runs.
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../src/core/errors';
import type { Graph, QuantParams } from '../../../../src/core/ir/types';
import { Interpreter } from '../../../../src/core/runtime/interpreter';
import { assertQuantizationValid, isQuantizedGraph, lintQuantization } from '../../../../src/core/runtime/lint-quant';

/** An int8 CONV_2D graph following TFLite's scheme: per-channel weights, int32 bias. */
function convGraph(): Graph {
  const wScales = [0.01, 0.02];
  return {
    name: 'g',
    tensors: [
      { name: 'x', dtype: 'int8', shape: [1, 3, 3, 2], quant: { scale: [0.05], zeroPoint: [-3] } },
      { name: 'w', dtype: 'int8', shape: [2, 1, 1, 2], data: Int8Array.from([1, -2, 3, -4]), quant: { scale: wScales, zeroPoint: [0, 0], axis: 0 } },
      { name: 'b', dtype: 'int32', shape: [2], data: Int32Array.from([10, -10]), quant: { scale: wScales.map((s) => 0.05 * s), zeroPoint: [0, 0], axis: 0 } },
      { name: 'y', dtype: 'int8', shape: [1, 3, 3, 2], quant: { scale: [0.1], zeroPoint: [5] } },
    ],
    ops: [
      {
        type: 'CONV_2D',
        options: { padding: 'SAME', strideH: 1, strideW: 1, dilationHFactor: 1, dilationWFactor: 1, fusedActivationFunction: 'NONE' },
        inputs: [0, 1, 2],
        outputs: [3],
      },
    ],
    inputs: [0],
    outputs: [3],
  };
}

function withQuant(g: Graph, tensor: number, quant: QuantParams): Graph {
  const tensors = g.tensors.map((t, i) => (i === tensor ? { ...t, quant } : t));
  return { ...g, tensors };
}

describe('lintQuantization', () => {
  it('passes a graph that follows the scheme, and knows it is quantized', () => {
    const g = convGraph();
    expect(isQuantizedGraph(g)).toBe(true);
    expect(lintQuantization(g)).toEqual([]);
    expect(() => assertQuantizationValid(g)).not.toThrow();
  });

  it('zero, negative, NaN and infinite scales', () => {
    for (const bad of [0, -0.1, NaN, Infinity]) {
      const issues = lintQuantization(withQuant(convGraph(), 3, { scale: [bad], zeroPoint: [5] }));
      expect(issues.map((i) => i.kind)).toContain('bad-scale');
      expect(issues.find((i) => i.kind === 'bad-scale')!.message).toBe(`Tensor 3 'y' has scale ${bad}; quantization scales must be positive finite numbers.`);
    }
    const perChannel = lintQuantization(withQuant(convGraph(), 1, { scale: [0.01, 0], zeroPoint: [0, 0], axis: 0 }));
    expect(perChannel[0].message).toBe("Tensor 1 'w' has scale 0 for slice 1; quantization scales must be positive finite numbers.");
  });

  it('a nonzero int8 weight zero point (which the TFLite interpreter silently ignores)', () => {
    const issues = lintQuantization(withQuant(convGraph(), 1, { scale: [0.01, 0.02], zeroPoint: [0, 3], axis: 0 }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ tensor: 1, kind: 'nonzero-zero-point' });
    expect(issues[0].message).toContain("Tensor 1 'w' (int8 weights of CONV_2D) has zero point 3 for output channel 1");
  });

  it('bias scale must equal input scale × weight scale (relative tolerance 1e-6)', () => {
    // float32-stored products pass (relative error ~6e-8) …
    const f32 = Math.fround;
    expect(lintQuantization(withQuant(convGraph(), 2, { scale: [f32(0.05 * 0.01), f32(0.05 * 0.02)], zeroPoint: [0, 0], axis: 0 }))).toEqual([]);
    // … a 1e-5 relative error does not
    const issues = lintQuantization(withQuant(convGraph(), 2, { scale: [0.05 * 0.01, 0.05 * 0.02 * (1 + 1e-5)], zeroPoint: [0, 0], axis: 0 }));
    expect(issues).toHaveLength(1);
    expect(issues[0].kind).toBe('bias-scale');
    expect(issues[0].message).toMatch(/^Tensor 2 'b' \(bias of CONV_2D\) has scale 0\.001000010\d* for output channel 1, but input scale × weight scale is 0\.001 \(0\.05 × 0\.02\); TFLite needs them equal\.$/);
  });

  it('zero points outside the type range, and nonzero zero points on int32 biases and int16 activations', () => {
    expect(lintQuantization(withQuant(convGraph(), 3, { scale: [0.1], zeroPoint: [130] }))[0].message).toBe(
      "Tensor 3 'y' has zero point 130; int8 zero points lie in [-128, 127].",
    );
    expect(lintQuantization(withQuant(convGraph(), 2, { scale: [0.0005, 0.001], zeroPoint: [0, 7], axis: 0 }))[0].message).toBe(
      "Tensor 2 'b' has zero point 7 for slice 1; int32 tensors use zero point 0.",
    );
    const u8: Graph = { ...convGraph(), tensors: convGraph().tensors.map((t, i) => (i === 3 ? { ...t, dtype: 'uint8', quant: { scale: [0.1], zeroPoint: [-1] } } : t)) };
    expect(lintQuantization(u8).map((i) => i.message)).toContain("Tensor 3 'y' has zero point -1; uint8 zero points lie in [0, 255].");
    const i16: Graph = { ...convGraph(), tensors: convGraph().tensors.map((t, i) => (i === 3 ? { ...t, dtype: 'int16', quant: { scale: [0.1], zeroPoint: [4] } } : t)) };
    expect(lintQuantization(i16).map((i) => i.message)).toContain("Tensor 3 'y' is int16 with zero point 4; TFLite's int16 scheme is symmetric (zero point 0).");
  });

  it('per-axis parameter count must equal the dimension size', () => {
    const issues = lintQuantization(withQuant(convGraph(), 1, { scale: [0.01, 0.02, 0.03], zeroPoint: [0, 0, 0], axis: 0 }));
    expect(issues[0]).toMatchObject({ tensor: 1, kind: 'per-axis-count' });
    expect(issues[0].message).toBe("Tensor 1 'w' has 3 scales along dimension 0 of shape [2, 1, 1, 2]; per-axis quantization needs one per slice (2).");
    const zps = lintQuantization(withQuant(convGraph(), 1, { scale: [0.01, 0.02], zeroPoint: [0], axis: 0 }));
    expect(zps[0].message).toBe("Tensor 1 'w' has 2 scales but 1 zero points; per-axis quantization needs one of each per slice.");
  });

  it('an int8 activation without quantization parameters', () => {
    const g = convGraph();
    delete g.tensors[0].quant;
    expect(lintQuantization(g).map((i) => i.message)).toContain("Tensor 0 'x' is int8 but has no quantization parameters (scale and zero point).");
  });
});

describe('Interpreter.prepare runs the lint on quantized graphs', () => {
  it('refuses a nonzero weight zero point with a UserError sentence, before running anything', () => {
    const g = withQuant(convGraph(), 1, { scale: [0.01, 0.02], zeroPoint: [2, 0], axis: 0 });
    let caught: unknown;
    try {
      Interpreter.prepare(g);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).message).toContain("Tensor 1 'w' (int8 weights of CONV_2D) has zero point 2 for output channel 0");
  });

  it('counts further problems, and can be switched off', () => {
    const g = withQuant(withQuant(convGraph(), 1, { scale: [0.01, 0.02], zeroPoint: [2, 0], axis: 0 }), 3, { scale: [0], zeroPoint: [5] });
    expect(() => Interpreter.prepare(g)).toThrowError(/\(1 more problem in the graph 'g'\)$/);
    expect(() => Interpreter.prepare(withQuant(convGraph(), 1, { scale: [0.01, 0.02], zeroPoint: [2, 0], axis: 0 }), { lintQuantization: false })).not.toThrow();
  });

  it('leaves float graphs alone', () => {
    const g: Graph = {
      name: 'f',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [4] },
        { name: 'y', dtype: 'float32', shape: [4] },
      ],
      ops: [{ type: 'RELU', options: {}, inputs: [0], outputs: [1] }],
      inputs: [0],
      outputs: [1],
    };
    expect(isQuantizedGraph(g)).toBe(false);
    expect(Interpreter.prepare(g).run([Float32Array.from([-1, 0, 1, 2])]).outputs[0]).toEqual(Float32Array.from([0, 0, 1, 2]));
  });
});
