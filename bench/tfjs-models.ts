/**
 * The float twin on TensorFlow.js with the WebAssembly backend (one thread): fused conv2d /
 * depthwiseConv2d / matMul ops (bias and relu/relu6 fused, as tf.layers models run), the same
 * weights and NHWC layout as the IR graph.
 */
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import type { NetSpec } from './models';

let ready: Promise<void> | null = null;

/** Selects the wasm backend with one thread (once per process). */
export function useTfjsWasm(): Promise<void> {
  ready ??= (async () => {
    tfwasm.setThreadsCount(1);
    if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js could not start its wasm backend.');
    await tf.ready();
  })();
  return ready;
}

export function tfjsThreads(): number {
  return tfwasm.getThreadsCount();
}

const ACT: Record<string, 'linear' | 'relu' | 'relu6'> = { NONE: 'linear', RELU: 'relu', RELU6: 'relu6' };

export interface TfjsNet {
  /** Runs `batch` images (the input given at build time) and returns the logits. */
  run(): Float32Array;
  dispose(): void;
}

export function tfjsNet(net: NetSpec, input: Float32Array, batch: number): TfjsNet {
  const keep: tf.Tensor[] = [];
  const hold = <T extends tf.Tensor>(t: T): T => {
    keep.push(t);
    return t;
  };
  const [h, w, c] = net.inputShape;
  const x = hold(tf.tensor4d(input, [batch, h, w, c]));
  const params = net.layers.map((l) => {
    switch (l.kind) {
      case 'conv': {
        // OHWI → HWIO
        const f = new Float32Array(l.weights.length);
        for (let o = 0; o < l.outC; o++) for (let y = 0; y < l.kH; y++) for (let xx = 0; xx < l.kW; xx++) for (let i = 0; i < l.inC; i++) f[((y * l.kW + xx) * l.inC + i) * l.outC + o] = l.weights[((o * l.kH + y) * l.kW + xx) * l.inC + i];
        return { filter: hold(tf.tensor4d(f, [l.kH, l.kW, l.inC, l.outC])), bias: hold(tf.tensor1d(l.bias)) };
      }
      case 'dw':
        return { filter: hold(tf.tensor4d(l.weights, [l.k, l.k, l.channels, 1])), bias: hold(tf.tensor1d(l.bias)) };
      case 'dense': {
        const t = new Float32Array(l.weights.length);
        for (let o = 0; o < l.outF; o++) for (let i = 0; i < l.inF; i++) t[i * l.outF + o] = l.weights[o * l.inF + i];
        return { filter: hold(tf.tensor2d(t, [l.inF, l.outF])), bias: hold(tf.tensor1d(l.bias)) };
      }
      default:
        return null;
    }
  });
  const forward = (): tf.Tensor => {
    let y: tf.Tensor = x;
    net.layers.forEach((l, i) => {
      const p = params[i];
      switch (l.kind) {
        case 'conv':
          y = tf.fused.conv2d({ x: y as tf.Tensor4D, filter: p!.filter as tf.Tensor4D, bias: p!.bias, strides: l.stride, pad: l.padding === 'SAME' ? 'same' : 'valid', activation: ACT[l.act] });
          break;
        case 'dw':
          y = tf.fused.depthwiseConv2d({ x: y as tf.Tensor4D, filter: p!.filter as tf.Tensor4D, bias: p!.bias, strides: l.stride, pad: l.padding === 'SAME' ? 'same' : 'valid', activation: ACT[l.act] });
          break;
        case 'maxpool':
          y = tf.maxPool(y as tf.Tensor4D, l.k, l.stride, 'valid');
          break;
        case 'avgpool':
          y = tf.avgPool(y as tf.Tensor4D, l.k, l.k, 'valid');
          break;
        case 'flatten':
          y = tf.reshape(y, [batch, -1]);
          break;
        case 'dense':
          y = tf.fused.matMul({ a: y as tf.Tensor2D, b: p!.filter as tf.Tensor2D, bias: p!.bias, activation: ACT[l.act] });
          break;
      }
    });
    return y;
  };
  return {
    run() {
      const y = tf.tidy(forward);
      const out = y.dataSync() as Float32Array;
      y.dispose();
      return out;
    },
    dispose() {
      for (const t of keep) t.dispose();
    },
  };
}
