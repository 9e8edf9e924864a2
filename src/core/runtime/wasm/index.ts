/** The int8 engine (WebAssembly SIMD128, TypeScript fallback) and its scalar reference. */
export { createInt8Engine, engineModule, hasWasmSimd128 } from './engine';
export type { Conv2dPlan, DepthwiseConv2dPlan, GemmPlan, Int8Backend, Int8Engine, Int8EngineOptions, PlanInfo } from './engine';
export type { ChannelRequantization, Conv2dSpec, DepthwiseConv2dSpec, GemmSpec, Requantization, WindowGeometry } from './spec';
export {
  multiplyDoubleRounding, multiplySingleRounding, referenceAveragePool, referenceConv2d, referenceDepthwiseConv2d, referenceGemm, referenceIm2col,
  referenceDequantize, referenceMaxPool, referenceQuantize, requantize, roundHalfAwayFromZero, roundHalfToEven, roundingDivideByPOT, saturatingRoundingDoublingHighMul,
} from './reference';
