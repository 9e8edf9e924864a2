/**
 * A bench-only int8 pipeline that runs a quantized net directly on QuantLab's int8 engine
 * (src/core/runtime/wasm): every conv / depthwise / dense / pool / quantize / dequantize is one
 * engine call on views of the engine's heap, prepared once (weights packed, parameters
 * precomputed, activations in two ping-pong buffers). It is not the interpreter: the bench runs
 * it beside the interpreter (whose int8 kernels call the same engine) to show what the
 * interpreter's own work costs.
 */
import type { RoundingMode } from '../src/core/runtime/kernel';
import type { Int8Engine } from '../src/core/runtime/wasm/engine';
import type { Requantization, WindowGeometry } from '../src/core/runtime/wasm/spec';
import { layerShapes, pads } from './models';
import type { QLayer, QNet } from './quantize';
import { quantizeMultiplier } from './quantize';

type Step = (batch: number) => void;

/**
 * The requantization the interpreter's int8 kernels use for this layer in this rounding mode
 * (src/core/runtime/quantized-util.ts convEpilogue): XNNPACK's scale is fl(fl(S_in·S_w)/S_out);
 * in 'xnnpack' mode a FULLY_CONNECTED with per-channel weights is not delegated and runs
 * TFLite's builtin kernel, single rounding, like the interpreter.
 */
function requant(ql: QLayer, rounding: RoundingMode): Requantization {
  const f = Math.fround;
  const out = { outputZeroPoint: ql.outQ.zeroPoint, outputMin: ql.actMin, outputMax: ql.actMax };
  const mode: RoundingMode = rounding === 'xnnpack' && ql.layer.kind === 'dense' ? 'single-rounding' : rounding;
  if (mode === 'xnnpack') return { rounding: mode, scale: ql.wScale!.map((s) => f(f(ql.inQ.scale * s) / ql.outQ.scale)), ...out };
  const q = ql.wScale!.map((s) => quantizeMultiplier((ql.inQ.scale * s) / ql.outQ.scale));
  return { rounding: mode, multiplier: q.map((x) => x.multiplier), shift: q.map((x) => x.shift), ...out };
}

export class EngineInt8Net {
  /** Write inputs here (batch × H × W × C float32, NHWC), then call run(). */
  readonly input: Float32Array;
  /** Dequantized outputs after run(). */
  readonly output: Float32Array;
  readonly batch: number;
  readonly rounding: RoundingMode;
  private readonly steps: Step[];

  constructor(engine: Int8Engine, q: QNet, rounding: RoundingMode, batch = 1) {
    this.batch = batch;
    this.rounding = rounding;
    const net = q.net;
    const shapes = layerShapes(net);
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    // 1. prepare every layer (packs weights into the heap)
    type Pending = (io: { src: () => Int8Array; dst: () => Int8Array }) => Step;
    const pending: Pending[] = [];
    let shape: number[] = [...net.inputShape];
    q.layers.forEach((ql, i) => {
      const l = ql.layer;
      const [h, w, c] = shape;
      const out = shapes[i];
      switch (l.kind) {
        case 'conv': {
          const [pt, pl] = pads(l.padding, h, w, l.kH, l.stride);
          const plan = engine.prepareConv2d({
            inH: h, inW: w, inC: c, outC: l.outC, kernelH: l.kH, kernelW: l.kW, strideH: l.stride, strideW: l.stride, padTop: pt, padLeft: pl,
            outH: out[0], outW: out[1], weights: ql.wq!, bias: ql.bq!, inputZeroPoint: ql.inQ.zeroPoint, requant: requant(ql, rounding),
          }, l.name);
          pending.push(({ src, dst }) => (b) => engine.conv2d(plan, src(), dst(), b));
          break;
        }
        case 'dw': {
          const [pt, pl] = pads(l.padding, h, w, l.k, l.stride);
          const plan = engine.prepareDepthwiseConv2d({
            inH: h, inW: w, channels: c, kernelH: l.k, kernelW: l.k, strideH: l.stride, strideW: l.stride, padTop: pt, padLeft: pl,
            outH: out[0], outW: out[1], weights: ql.wq!, bias: ql.bq!, inputZeroPoint: ql.inQ.zeroPoint, requant: requant(ql, rounding),
          }, l.name);
          pending.push(({ src, dst }) => (b) => engine.depthwiseConv2d(plan, src(), dst(), b));
          break;
        }
        case 'maxpool': {
          const g: WindowGeometry = { inH: h, inW: w, channels: c, kernelH: l.k, kernelW: l.k, strideH: l.stride, strideW: l.stride, padTop: 0, padLeft: 0, outH: out[0], outW: out[1] };
          pending.push(({ src, dst }) => (b) => engine.maxPool(g, -128, 127, src(), dst(), b));
          break;
        }
        case 'avgpool': {
          const g: WindowGeometry = { inH: h, inW: w, channels: c, kernelH: l.k, kernelW: l.k, strideH: l.k, strideW: l.k, padTop: 0, padLeft: 0, outH: out[0], outW: out[1] };
          pending.push(({ src, dst }) => (b) => engine.averagePool(g, ql.actMin, ql.actMax, src(), dst(), b));
          break;
        }
        case 'flatten':
          pending.push(null as unknown as Pending); // no data movement: the next layer reads the same buffer
          break;
        case 'dense': {
          const plan = engine.prepareGemm({ weights: ql.wq!, outputs: l.outF, depth: l.inF, bias: ql.bq!, inputZeroPoint: ql.inQ.zeroPoint, requant: requant(ql, rounding) }, l.name);
          pending.push(({ src, dst }) => (b) => engine.gemm(plan, src(), b, l.inF, dst(), l.outF));
          break;
        }
      }
      shape = out;
    });
    // 2. the activation arena, after the last prepare (no growth afterwards: views stay valid)
    const maxAct = Math.max(size(net.inputShape), ...shapes.map(size)) * batch;
    const inLen = size(net.inputShape) * batch;
    const outLen = size(shapes[shapes.length - 1]) * batch;
    const fIn = engine.alloc(inLen * 4);
    const fOut = engine.alloc(outLen * 4);
    const bufs = [engine.alloc(maxAct), engine.alloc(maxAct)];
    this.input = engine.float32View(fIn, inLen);
    this.output = engine.float32View(fOut, outLen);
    const views = bufs.map((p) => engine.int8View(p, maxAct));
    const steps: Step[] = [];
    const inView = views[0].subarray(0, inLen);
    steps.push(() => engine.quantize(this.input, inView, q.inQ.scale, q.inQ.zeroPoint, rounding));
    let which = 0;
    let lenIn = size(net.inputShape) * batch;
    pending.forEach((p, i) => {
      const lenOut = size(shapes[i]) * batch;
      if (!p) return; // flatten
      const src = views[which].subarray(0, lenIn);
      const dst = views[1 - which].subarray(0, lenOut);
      steps.push(p({ src: () => src, dst: () => dst }));
      which = 1 - which;
      lenIn = lenOut;
    });
    const last = q.layers[q.layers.length - 1].outQ;
    const lastView = views[which].subarray(0, outLen);
    steps.push(() => engine.dequantize(lastView, this.output, last.scale, last.zeroPoint));
    this.steps = steps;
  }

  run(): void {
    for (const s of this.steps) s(this.batch);
  }
}
