/**
 * What TensorFlow.js's WASM backend needs to train the demo models at XNNPACK speed instead of
 * on the plain-JS 'cpu' backend (about 16× slower here):
 *
 * - Conv2DBackpropFilter (the weight gradient) does not exist on 'wasm' at all, and its
 *   Conv2DBackpropInput is a naive loop (10× slower than the equivalent forward convolution):
 *   both are built here from fast ops the backend has. The weight gradient takes any stride
 *   (strided window slices), dilation 1 (TF.js has no gradient for dilated convolutions), NHWC,
 *   'same' or 'valid' padding; the input gradient is rebuilt at stride 1 and falls back to the
 *   stock kernel otherwise. Checked against the 'cpu' kernels to float precision
 *   (tests/unit/core/qat/wasm-gradients.test.ts).
 * - The stock BatchNorm gradient tiles 1/σ to the full activation shape for dx, and Tile on
 *   'wasm' runs in JavaScript (≈0.4 s per batch of 128 at 28×28×16); a broadcasting multiply
 *   gives the same numbers.
 *
 * Weight gradient: dW[kh, kw, ci, co] = Σ_{n,y,x} xPad[n, y + kh, x + kw, ci] · dy[n, y, x, co],
 * an im2col built directly in transposed layout, [KH·KW·Cin, N·Ho·Wo] (row (kh·KW + kw)·Cin + ci,
 * the row-major order of a [KH, KW, Cin, Cout] filter), times dy as [N·Ho·Wo, Cout]. The
 * backend's matrix product is fast only without transposed operands, hence the layout.
 *
 * Input gradient: dx = conv(dyPad, W') with W'[kh, kw, co, ci] = W[KH-1-kh, KW-1-kw, ci, co]
 * (the transposed convolution at stride 1); dy is padded by (K-1-padBefore, K-1-padAfter) so the
 * result has the input's size.
 */
import * as tf from '@tensorflow/tfjs';

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | 'explicit';
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
}

function pair(v: number | [number, number] | undefined): [number, number] {
  if (v === undefined) return [1, 1];
  return typeof v === 'number' ? [v, v] : v;
}

/** What the weight gradient handles: any stride, dilation 1 (TF.js has no gradient for dilated convolutions), NHWC, 'same'/'valid'. */
function filterSupported(a: ConvGradAttrs): a is ConvGradAttrs & { pad: 'same' | 'valid' } {
  const [dh, dw] = pair(a.dilations);
  return dh === 1 && dw === 1 && a.dataFormat === 'NHWC' && (a.pad === 'same' || a.pad === 'valid');
}

/** TensorFlow's 'same' padding at any stride: total = max((out − 1)·s + k − in, 0), ⌊total/2⌋ before. */
function stridedPads(pad: 'same' | 'valid', k: number, stride: number, inSize: number, outSize: number): [number, number] {
  if (pad === 'valid') return [0, 0];
  const total = Math.max((outSize - 1) * stride + k - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function supported(a: ConvGradAttrs): a is ConvGradAttrs & { pad: 'same' | 'valid' } {
  const [sh, sw] = pair(a.strides);
  const [dh, dw] = pair(a.dilations);
  return sh === 1 && sw === 1 && dh === 1 && dw === 1 && a.dataFormat === 'NHWC' && (a.pad === 'same' || a.pad === 'valid');
}

/** TensorFlow's padding at stride 1: 'same' puts ⌊(K-1)/2⌋ before and the rest after. */
function padsOf(pad: 'same' | 'valid', k: number): [number, number] {
  if (pad === 'valid') return [0, 0];
  const before = Math.floor((k - 1) / 2);
  return [before, k - 1 - before];
}

/**
 * A Tensor on the data of a kernel's TensorInfo input (no copy). makeTensorFromTensorInfo does
 * not take a reference on the data, but disposing the wrapper drops one: take it here, so the
 * tidy that disposes the wrapper leaves the caller's tensor alive.
 */
function asTensor<R extends tf.Rank>(info: tf.TensorInfo, backend: tf.KernelBackend): tf.Tensor<R> {
  const t = tf.engine().makeTensorFromTensorInfo(info, backend) as tf.Tensor<R>;
  backend.incRef(info.dataId);
  return t;
}

function input(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`The kernel got no '${name}' input.`);
  return t;
}

function backpropFilter(backend: tf.KernelBackend, xInfo: tf.TensorInfo, dyInfo: tf.TensorInfo, a: ConvGradAttrs & { pad: 'same' | 'valid' }, filterShape: number[]): tf.Tensor4D {
  const [kh, kw, cin, cout] = filterShape;
  return tf.tidy(() => {
    const x = asTensor<tf.Rank.R4>(xInfo, backend);
    const dy = asTensor<tf.Rank.R4>(dyInfo, backend);
    const [n, h, w] = x.shape;
    const [, ho, wo] = dy.shape;
    const [sh, sw] = pair(a.strides);
    // [Cin, N, H + pads, W + pads]: channel-major, so each window slice is already a block of rows.
    const xc = tf.transpose(tf.pad(x, [[0, 0], stridedPads(a.pad, kh, sh, h, ho), stridedPads(a.pad, kw, sw, w, wo), [0, 0]]), [3, 0, 1, 2]);
    const windows: tf.Tensor4D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // Window (i, j) of every output position: rows i, i + sh, …; columns j, j + sw, ….
        windows.push(sh === 1 && sw === 1 ? tf.slice(xc, [0, 0, i, j], [cin, n, ho, wo]) : (tf.stridedSlice(xc, [0, 0, i, j], [cin, n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1], [1, 1, sh, sw]) as tf.Tensor4D));
      }
    }
    const colsT = (windows.length === 1 ? windows[0] : tf.concat(windows, 0)).reshape([kh * kw * cin, n * ho * wo]);
    return tf.matMul(colsT, dy.reshape([n * ho * wo, cout])).reshape([kh, kw, cin, cout]);
  });
}

function backpropInput(backend: tf.KernelBackend, dyInfo: tf.TensorInfo, filterInfo: tf.TensorInfo, a: ConvGradAttrs & { pad: 'same' | 'valid' }): tf.Tensor4D {
  return tf.tidy(() => {
    const dy = asTensor<tf.Rank.R4>(dyInfo, backend);
    const w = asTensor<tf.Rank.R4>(filterInfo, backend);
    const [kh, kw] = w.shape;
    const [ph0, ph1] = padsOf(a.pad, kh);
    const [pw0, pw1] = padsOf(a.pad, kw);
    const dyp = tf.pad(dy, [[0, 0], [kh - 1 - ph0, kh - 1 - ph1], [kw - 1 - pw0, kw - 1 - pw1], [0, 0]]);
    const flipped = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
    return tf.conv2d(dyp, flipped, 1, 'valid');
  });
}

/**
 * TensorFlow.js's FusedBatchNorm gradient (tfjs-core gradients/FusedBatchNorm_grad.ts) with the
 * tile in dx replaced by broadcasting; everything else as there. x is NHWC, mean/variance/scale
 * are per channel (rank 1) or broadcastable like x.
 */
const batchNormGradient: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const dyT = dy as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved;
    const scaleValue = scale == null ? tf.scalar(1) : scale;
    const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: tf.Tensor): tf.Tensor => tf.reshape(mean.rank === 1 ? tf.sum(t, reductionAxes) : t, mean.shape);
    const xMinusMean = tf.sub(x, mean);
    const dyTimesScale = tf.mul(dyT, scaleValue);
    const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const minusHalfRCube = tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.scalar(-0.5));
    return {
      x: () => tf.reshape(tf.mul(tf.mul(dyT, rstd), scaleValue), x.shape),
      mean: () => reduce(tf.mul(tf.mul(rstd, tf.scalar(-1)), dyTimesScale)),
      variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)),
      scale: () => reduce(tf.mul(dyT, tf.mul(xMinusMean, rstd))),
      offset: () => reduce(dyT),
    };
  },
};

let registered = false;

/**
 * Registers the convolution-gradient kernels on 'wasm' and the BatchNorm gradient (for every
 * backend; same numbers as the stock one). Idempotent; call before training starts.
 */
export function registerWasmTraining(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(batchNormGradient);
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) => {
        const a = attrs as unknown as ConvGradAttrs;
        if (!filterSupported(a) || !a.filterShape) {
          throw new Error(`Conv2DBackpropFilter on 'wasm' is implemented for dilation 1, NHWC and 'same'/'valid' padding only (got strides ${JSON.stringify(a.strides)}, dilations ${JSON.stringify(a.dilations)}, pad ${JSON.stringify(a.pad)}).`);
        }
        return backpropFilter(backend as tf.KernelBackend, input(inputs, 'x'), input(inputs, 'dy'), a, a.filterShape);
      },
    });
  }
  const stock = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (stock) tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    setupFunc: stock?.setupFunc,
    disposeFunc: stock?.disposeFunc,
    kernelFunc: (args) => {
      const a = args.attrs as unknown as ConvGradAttrs;
      if (supported(a)) return backpropInput(args.backend as tf.KernelBackend, input(args.inputs, 'dy'), input(args.inputs, 'filter'), a);
      if (!stock) throw new Error(`Conv2DBackpropInput is not available on 'wasm' for pad ${JSON.stringify(a.pad)}.`);
      return stock.kernelFunc(args);
    },
  });
}
