/**
 * CUSTOM 'Convolution2DTransposeBias' (MediaPipe's transpose convolution with bias, used by
 * selfie_segmentation.tflite). Inputs: [input NHWC, weights OHWI [outC, kH, kW, inC], bias [outC]].
 *
 * Custom options are not flexbuffers but a packed little-endian TfLiteTransposeConvParams:
 *   int32 padding (TfLitePadding: 0 unknown, 1 SAME, 2 VALID), int32 stride_width, int32 stride_height.
 * (selfie_segmentation.tflite carries [1, 2, 2]: SAME, stride 2×2, with a 2×2 kernel.)
 *
 * Unlike TRANSPOSE_CONV the output size is not given; MediaPipe derives it from the input:
 *   SAME : p = max(0, k − (in − 1) mod s − 1), out = s·(in − 1) + k − p, pad before = floor(p / 2)
 *   VALID: p = 0,                             out = s·(in − 1) + k
 * and then scatters exactly like TRANSPOSE_CONV with that padding.
 */
import { ModelFormatError } from '../../errors';
import { activationRange } from '../activation';
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import type { TransposeConvFloatState } from './transpose-conv';
import { prepareTransposeConvFloat, runTransposeConvFloat } from './transpose-conv';

export const CONVOLUTION_2D_TRANSPOSE_BIAS = 'Convolution2DTransposeBias';

export interface TransposeConvBiasParams {
  padding: 'SAME' | 'VALID';
  strideW: number;
  strideH: number;
}

/** Decodes the 12-byte packed TfLiteTransposeConvParams. */
export function parseTransposeConvBiasOptions(bytes: Uint8Array | undefined, label: string): TransposeConvBiasParams {
  if (!bytes || bytes.length < 12) {
    throw new ModelFormatError(
      `${label} has ${bytes ? bytes.length : 0} bytes of custom options; Convolution2DTransposeBias needs 12 (padding, stride width, stride height as int32).`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const paddingCode = view.getInt32(0, true);
  const strideW = view.getInt32(4, true);
  const strideH = view.getInt32(8, true);
  if (paddingCode !== 1 && paddingCode !== 2) {
    throw new ModelFormatError(`${label} has padding code ${paddingCode} in its custom options; expected 1 (SAME) or 2 (VALID).`);
  }
  if (strideW <= 0 || strideH <= 0) {
    throw new ModelFormatError(`${label} has strides ${strideW}×${strideH} in its custom options; strides must be positive.`);
  }
  return { padding: paddingCode === 1 ? 'SAME' : 'VALID', strideW, strideH };
}

/** MediaPipe's output size and padding for one spatial dimension. */
export function transposeConvBiasGeometry(inSize: number, kernelSize: number, stride: number, padding: 'SAME' | 'VALID'): { outSize: number; padBefore: number } {
  const total = padding === 'SAME' ? Math.max(0, kernelSize - ((inSize - 1) % stride) - 1) : 0;
  return { outSize: stride * (inSize - 1) + kernelSize - total, padBefore: Math.floor(total / 2) };
}

export const convolution2dTransposeBiasFloat32 = defineKernel<'CUSTOM', TransposeConvFloatState>({
  opType: 'CUSTOM',
  customCode: CONVOLUTION_2D_TRANSPOSE_BIAS,
  flavour: 'float32',
  accepts: allFloat32,
  prepare({ op, label, inputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    const weights = requireInput(label, inputs, 1, 'weights');
    const bias = requireInput(label, inputs, 2, 'bias');
    const params = parseTransposeConvBiasOptions(op.customOptions, label);
    const kH = weights.shape[1];
    const kW = weights.shape[2];
    const h = transposeConvBiasGeometry(input.shape[1], kH, params.strideH, params.padding);
    const w = transposeConvBiasGeometry(input.shape[2], kW, params.strideW, params.padding);
    const state = prepareTransposeConvFloat(
      label,
      input,
      weights,
      bias,
      { outH: h.outSize, outW: w.outSize, strideH: params.strideH, strideW: params.strideW, padTop: h.padBefore, padLeft: w.padBefore },
      activationRange('NONE', label),
    );
    return { outputShapes: [[input.shape[0], h.outSize, w.outSize, weights.shape[0]]], state };
  },
  run({ inputs, outputs }, s) {
    runTransposeConvFloat(f32(inputs[0]!.data), f32(outputs[0].data), s, f32(inputs[1]!.data), f32(inputs[2]!.data));
  },
});
