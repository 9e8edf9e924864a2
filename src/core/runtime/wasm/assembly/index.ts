/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * The QuantLab int8 engine, WebAssembly SIMD128. Entry file for `tools/build-wasm.mjs`.
 * Everything works on raw byte offsets into the one imported memory; nothing is allocated here.
 */
export { LAYOUT_VERSION, PARAM_HEADER_BYTES, PARAM_BLOCK_BYTES } from './layout';
export { gemm_s8 } from './gemm';
export { dwconv_s8 } from './depthwise';
export { im2col_s8 } from './im2col';
export { conv_s8, pad_s8 } from './conv';
export { maxpool_s8, avgpool_s8 } from './pool';
export { quantize_f32_s8, dequantize_s8_f32 } from './quant';
export { mulDoubleRounding, mulSingleRounding } from './requant';
