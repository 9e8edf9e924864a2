import { readFileSync } from 'node:fs';
import * as flatbuffers from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import * as fb from '../../../../src/core/formats/tflite/generated/schema_generated';

// The generated code must describe the real binary format: spot-check numbers that TFLite
// itself fixes (builtin codes, union ordinals) and read a real file through it.
describe('tflite schema subset', () => {
  it('keeps the real builtin operator codes', () => {
    expect(fb.BuiltinOperator.ADD).toBe(0);
    expect(fb.BuiltinOperator.CONV_2D).toBe(3);
    expect(fb.BuiltinOperator.DEPTH_TO_SPACE).toBe(5);
    expect(fb.BuiltinOperator.TRANSPOSE_CONV).toBe(67);
    expect(fb.BuiltinOperator.RESIZE_NEAREST_NEIGHBOR).toBe(97);
    expect(fb.BuiltinOperator.QUANTIZE).toBe(114);
    expect(fb.BuiltinOperator.HARD_SWISH).toBe(117);
    expect(fb.BuiltinOperator.BATCH_MATMUL).toBe(126);
    expect(fb.BuiltinOperator.GELU).toBe(150);
    expect(fb.BuiltinOperator.BITWISE_XOR).toBe(160);
    for (let code = 0; code <= 205; code++) expect(typeof fb.BuiltinOperator[code]).toBe('string');
  });

  it('keeps the real BuiltinOptions union ordinals', () => {
    const expected: [keyof typeof fb.BuiltinOptions, number][] = [
      ['Conv2DOptions', 1], ['DepthwiseConv2DOptions', 2], ['Pool2DOptions', 5], ['FullyConnectedOptions', 8],
      ['SoftmaxOptions', 9], ['ConcatenationOptions', 10], ['AddOptions', 11], ['ResizeBilinearOptions', 15],
      ['ReshapeOptions', 17], ['SpaceToDepthOptions', 19], ['MulOptions', 21], ['PadOptions', 22],
      ['ReducerOptions', 27], ['SubOptions', 28], ['SqueezeOptions', 30], ['DequantizeOptions', 38],
      ['TransposeConvOptions', 49], ['ResizeNearestNeighborOptions', 74], ['LeakyReluOptions', 75],
      ['QuantizeOptions', 89], ['HardSwishOptions', 91], ['DepthToSpaceOptions', 94], ['BatchMatMulOptions', 101],
      ['RightShiftOptions', 126],
    ];
    for (const [name, ordinal] of expected) expect([name, fb.BuiltinOptions[name]]).toEqual([name, ordinal]);
  });

  it('reads a real .tflite file through the generated accessors', () => {
    const bytes = new Uint8Array(readFileSync('node_modules/@mediapipe/face_detection/face_detection_short_range.tflite'));
    const bb = new flatbuffers.ByteBuffer(bytes);
    expect(fb.Model.bufferHasIdentifier(bb)).toBe(true);
    const model = fb.Model.getRootAsModel(bb);
    expect(model.version()).toBe(3);
    const codes = new Set<string>();
    for (let i = 0; i < model.operatorCodesLength(); i++) {
      const oc = model.operatorCodes(i)!;
      codes.add(fb.BuiltinOperator[Math.max(oc.deprecatedBuiltinCode(), oc.builtinCode())]);
    }
    expect(codes).toContain('CONV_2D');
    expect(codes).toContain('DEPTHWISE_CONV_2D');
    const sg = model.subgraphs(0)!;
    let sawConvOptions = false;
    for (let i = 0; i < sg.operatorsLength(); i++) {
      const op = sg.operators(i)!;
      if (op.builtinOptionsType() === fb.BuiltinOptions.Conv2DOptions) {
        const o = op.builtinOptions(new fb.Conv2DOptions()) as fb.Conv2DOptions;
        expect([1, 2]).toContain(o.strideW());
        sawConvOptions = true;
      }
    }
    expect(sawConvOptions).toBe(true);
  });
});
