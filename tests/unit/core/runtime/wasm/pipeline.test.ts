/**
 * Whole networks: the benchmark's int8 pipeline on the WASM engine (bench/engine-net.ts)
 * reproduces the interpreter's own int8 kernels (QUANTIZE, CONV_2D, DEPTHWISE_CONV_2D,
 * MAX_POOL_2D, AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED, DEQUANTIZE) bit for bit, in every
 * rounding mode, at batch 1 and 3. No timing here (bench/ measures speed).
 */
import { describe, expect, it } from 'vitest';
import { EngineInt8Net } from '../../../../../bench/engine-net';
import { inputs, mnistNet, mobilenetNet } from '../../../../../bench/models';
import { int8Graph, quantizeNet } from '../../../../../bench/quantize';
import { Interpreter } from '../../../../../src/core/runtime/interpreter';
import { createInt8Engine } from '../../../../../src/core/runtime/wasm/engine';
import { MODES } from './helpers';

describe('int8 networks on the engine === the interpreter int8 kernels', () => {
  for (const [name, make] of [['MNIST example', () => mnistNet(5)], ['MobileNet-v1-style 96×96 ×0.25', () => mobilenetNet(6)]] as const) {
    const net = make();
    const q = quantizeNet(net, 4);
    for (const rounding of MODES) {
      it(`${name}, ${rounding}`, () => {
        for (const batch of [1, 3]) {
          const x = inputs(net, batch, 31 + batch);
          const pipeline = new EngineInt8Net(createInt8Engine({ backend: 'wasm-simd128' }), q, rounding, batch);
          pipeline.input.set(x);
          pipeline.run();
          const want = Interpreter.prepare(int8Graph(q, batch), { rounding }).run([x]).outputs[0] as Float32Array;
          expect(pipeline.output.length).toBe(want.length);
          let differ = 0;
          for (let i = 0; i < want.length; i++) if (pipeline.output[i] !== want[i]) differ++;
          expect(differ, `outputs differing at batch ${batch}`).toBe(0);
          // and the outputs are not degenerate
          expect(new Set(want).size).toBeGreaterThan(want.length / (10 * batch));
        }
      });
    }
  }
});
