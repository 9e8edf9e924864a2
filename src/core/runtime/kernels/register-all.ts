/**
 * The single place that says which ops the QuantLab runtime implements. One line per kernel
 * flavour; an op type may appear several times (float32 today, int8 beside it later) and the
 * interpreter picks the first entry whose `accepts` takes the op's dtypes.
 */
import type { AnyKernelConfig } from '../kernel';
import { addFloat32, addQuantized } from './add';
import { averagePool2dFloat32, averagePool2dQuantized } from './average-pool-2d';
import { concatenationFloat32, concatenationQuantized } from './concatenation';
import { conv2dFloat32, conv2dQuantized } from './conv-2d';
import { convolution2dTransposeBiasFloat32 } from './convolution-2d-transpose-bias';
import { depthToSpaceKernel } from './depth-to-space';
import { detectionPostProcessKernel } from './detection-postprocess';
import { depthwiseConv2dFloat32, depthwiseConv2dQuantized } from './depthwise-conv-2d';
import { dequantizeFloat32 } from './dequantize';
import { fullyConnectedFloat32, fullyConnectedQuantized } from './fully-connected';
import { hardSwishFloat32, hardSwishQuantized } from './hard-swish';
import { leakyReluFloat32, leakyReluQuantized } from './leaky-relu';
import { logisticFloat32, logisticQuantized } from './logistic';
import { maxPool2dFloat32, maxPool2dQuantized } from './max-pool-2d';
import { meanFloat32, meanQuantized } from './mean';
import { mulFloat32, mulQuantized } from './mul';
import { padFloat32, padQuantized } from './pad';
import { preluFloat32, preluQuantized } from './prelu';
import { quantizeFloat32, quantizeRequantize } from './quantize';
import { reluFloat32, reluQuantized } from './relu';
import { relu6Float32, relu6Quantized } from './relu6';
import { reshapeKernel } from './reshape';
import { resizeBilinearFloat32, resizeBilinearQuantized } from './resize-bilinear';
import { resizeNearestNeighborFloat32, resizeNearestNeighborQuantized } from './resize-nearest-neighbor';
import { softmaxFloat32, softmaxQuantized } from './softmax';
import { spaceToDepthKernel } from './space-to-depth';
import { squeezeKernel } from './squeeze';
import { subFloat32, subQuantized } from './sub';
import { tanhFloat32, tanhQuantized } from './tanh';
import { transposeConvFloat32, transposeConvQuantized } from './transpose-conv';

export const ALL_KERNELS: readonly AnyKernelConfig[] = [
  addFloat32,
  averagePool2dFloat32,
  concatenationFloat32,
  conv2dFloat32,
  convolution2dTransposeBiasFloat32,
  depthToSpaceKernel,
  detectionPostProcessKernel,
  depthwiseConv2dFloat32,
  dequantizeFloat32,
  fullyConnectedFloat32,
  hardSwishFloat32,
  leakyReluFloat32,
  logisticFloat32,
  maxPool2dFloat32,
  meanFloat32,
  mulFloat32,
  padFloat32,
  preluFloat32,
  quantizeFloat32,
  reluFloat32,
  relu6Float32,
  reshapeKernel,
  resizeBilinearFloat32,
  resizeNearestNeighborFloat32,
  softmaxFloat32,
  spaceToDepthKernel,
  squeezeKernel,
  subFloat32,
  tanhFloat32,
  transposeConvFloat32,
  // integer flavours
  conv2dQuantized,
  depthwiseConv2dQuantized,
  fullyConnectedQuantized,
  addQuantized,
  subQuantized,
  mulQuantized,
  averagePool2dQuantized,
  maxPool2dQuantized,
  quantizeRequantize,
  concatenationQuantized,
  padQuantized,
  resizeNearestNeighborQuantized,
  reluQuantized,
  relu6Quantized,
  leakyReluQuantized,
  preluQuantized,
  transposeConvQuantized,
  logisticQuantized,
  tanhQuantized,
  softmaxQuantized,
  hardSwishQuantized,
  meanQuantized,
  resizeBilinearQuantized,
];
