import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../../../../src/core/errors';
import { kerasFormat, matchKeras, openKeras, SUPPORTED_LAYER_CLASSES } from '../../../../../src/core/formats/keras';
import { kerasSnakeCase } from '../../../../../src/core/formats/keras/reader';
import type { BuiltinOp } from '../../../../../src/core/ir/types';
import { kerasArchive, kerasH5, keras3WeightsH5, seeded, type FixtureWeight } from './fixtures';

const w = (name: string, shape: number[], seed: number): FixtureWeight => ({ name, shape, data: seeded(shape.reduce((a, b) => a * b, 1), seed) });

/** A small Keras 2 Sequential CNN: conv(relu) → flatten → dense(softmax), no InputLayer. */
function cnnConfig(extra: Record<string, unknown>[] = [], convConfig: Record<string, unknown> = {}): unknown {
  return {
    class_name: 'Sequential',
    config: {
      name: 'sequential_1',
      layers: [
        {
          class_name: 'Conv2D',
          config: {
            name: 'conv2d_1',
            batch_input_shape: [null, 4, 4, 1],
            filters: 2,
            kernel_size: [3, 3],
            strides: [1, 1],
            padding: 'valid',
            data_format: 'channels_last',
            dilation_rate: [1, 1],
            activation: 'relu',
            use_bias: true,
            ...convConfig,
          },
        },
        { class_name: 'Flatten', config: { name: 'flatten_1', data_format: 'channels_last' } },
        { class_name: 'Dense', config: { name: 'dense_1', units: 3, activation: 'softmax', use_bias: true } },
        ...extra,
      ],
    },
  };
}

const cnnLayers = [
  { name: 'conv2d_1', weights: [w('conv2d_1/kernel:0', [3, 3, 1, 2], 1), w('conv2d_1/bias:0', [2], 2)] },
  { name: 'flatten_1', weights: [] },
  { name: 'dense_1', weights: [w('dense_1/kernel:0', [8, 3], 3), w('dense_1/bias:0', [3], 4)] },
];

async function expectFormatError(p: Promise<unknown>, message: string | RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ModelFormatError);
  if (typeof message === 'string') expect((e as Error).message).toBe(message);
  else expect((e as Error).message).toMatch(message);
}

describe('Keras reader', () => {
  it('reads a Keras 2.2.4-style file (fixed-length byte-string names, no InputLayer) and lays weights out for TFLite', async () => {
    const bytes = await kerasH5({ modelConfig: cnnConfig(), kerasVersion: '2.2.4', layers: cnnLayers, fixedLengthNames: true });
    expect(matchKeras({ name: 'k.h5', bytes })).toBe('keras.h5');
    expect(kerasFormat.match({ name: 'k.h5', bytes })).toBe(true);
    const model = await openKeras({ name: 'k.h5', bytes });
    const g = model.subgraphs[0];
    expect(model.producer).toBe('Keras 2.2.4 (tensorflow backend)');
    expect(g.tensors[g.inputs[0]]).toMatchObject({ name: 'conv2d_1_input', shape: [-1, 4, 4, 1] });
    expect(g.ops.map((o) => o.type)).toEqual(['CONV_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX']);
    const conv = g.ops[0] as Extract<BuiltinOp, { type: 'CONV_2D' }>;
    expect(conv.options.fusedActivationFunction).toBe('RELU');
    // HWIO [3,3,1,2] → OHWI [2,3,3,1]: element (h,w,i,o) moves to (o,h,w,i).
    const kernel = g.tensors[conv.inputs[1]];
    expect(kernel.shape).toEqual([2, 3, 3, 1]);
    const src = cnnLayers[0].weights[0].data;
    expect((kernel.data as Float32Array)[1 * 9 + 2 * 3 + 1]).toBe(src[(2 * 3 + 1) * 2 + 1]);
    // Dense [in, out] → [out, in].
    const dense = g.tensors[g.ops[2].inputs[1]];
    expect(dense.shape).toEqual([3, 8]);
    expect((dense.data as Float32Array)[2 * 8 + 5]).toBe(cnnLayers[2].weights[0].data[5 * 3 + 2]);
    expect(g.tensors[g.ops[1].outputs[0]].shape).toEqual([-1, 8]);
  });

  it('names the file and the layer when a layer class is not supported', async () => {
    const config = cnnConfig([{ class_name: 'LSTM', config: { name: 'lstm_1', units: 4 } }]);
    const bytes = await kerasH5({ modelConfig: config, layers: cnnLayers });
    await expectFormatError(
      openKeras({ name: 'k.h5', bytes }),
      `k.h5: layer 'lstm_1' is LSTM, which QuantLab cannot import (supported: ${SUPPORTED_LAYER_CLASSES.join(', ')}).`,
    );
  });

  it('refuses unsupported settings with sentences that quote the value', async () => {
    const elu = await kerasH5({ modelConfig: cnnConfig([], { activation: 'elu' }), layers: cnnLayers });
    await expectFormatError(openKeras({ name: 'a.h5', bytes: elu }), /^a\.h5: layer 'conv2d_1' \(Conv2D\) uses activation 'elu', which QuantLab cannot import \(supported: linear, relu, relu6, /);
    const nchw = await kerasH5({ modelConfig: cnnConfig([], { data_format: 'channels_first' }), layers: cnnLayers });
    await expectFormatError(openKeras({ name: 'b.h5', bytes: nchw }), "b.h5: layer 'conv2d_1' (Conv2D) uses data_format 'channels_first'; QuantLab imports channels_last (NHWC) models.");
    const causal = await kerasH5({ modelConfig: cnnConfig([], { padding: 'causal' }), layers: cnnLayers });
    await expectFormatError(openKeras({ name: 'c.h5', bytes: causal }), `c.h5: layer 'conv2d_1' (Conv2D) has padding "causal"; QuantLab imports 'same' and 'valid'.`);
    const subclassed = await kerasH5({ modelConfig: { class_name: 'MyNet', config: {} }, layers: [] });
    await expectFormatError(openKeras({ name: 'd.h5', bytes: subclassed }), /^d\.h5: the model is a 'MyNet', which QuantLab cannot import/);
    const notJson = await kerasH5({ modelConfig: '{"class_name": "Sequential", ', layers: [] });
    await expectFormatError(openKeras({ name: 'e.h5', bytes: notJson }), /^e\.h5: the 'model_config' attribute is not valid JSON/);
  });

  it('says when weights are missing or do not fit the configuration', async () => {
    const noDense = await kerasH5({ modelConfig: cnnConfig(), layers: cnnLayers.slice(0, 2) });
    await expectFormatError(openKeras({ name: 'k.h5', bytes: noDense }), "k.h5: the weights of layer 'dense_1' (Dense) are missing (no group 'model_weights/dense_1' with 'weight_names').");
    const wrong = await kerasH5({
      modelConfig: cnnConfig(),
      layers: [{ name: 'conv2d_1', weights: [w('conv2d_1/kernel:0', [5, 5, 1, 2], 1), w('conv2d_1/bias:0', [2], 2)] }, ...cnnLayers.slice(1)],
    });
    await expectFormatError(
      openKeras({ name: 'k.h5', bytes: wrong }),
      "k.h5: layer 'conv2d_1' (Conv2D) has a kernel of shape [5, 5, 1, 2], but its configuration and input need [3, 3, 1, 2].",
    );
    const weightsOnly = await kerasH5({ layers: cnnLayers, weightsOnly: true });
    await expectFormatError(openKeras({ name: 'w.h5', bytes: weightsOnly }), /^w\.h5 holds only weights \(it was written by save_weights\), not the architecture/);
  });

  it('turns truncated, corrupted and foreign files into ModelFormatErrors, never a crash', async () => {
    const bytes = await kerasH5({ modelConfig: cnnConfig(), layers: cnnLayers });
    await expectFormatError(
      openKeras({ name: 'k.h5', bytes: bytes.subarray(0, bytes.length - 100) }),
      `k.h5 is truncated: its HDF5 header says the file is ${bytes.length} bytes long, but only ${bytes.length - 100} bytes are there.`,
    );
    await expectFormatError(openKeras({ name: 'k.h5', bytes: bytes.subarray(0, 20) }), 'k.h5 is truncated: it ends (20 bytes) inside the HDF5 superblock.');
    await expectFormatError(openKeras({ name: 'x.h5', bytes: new TextEncoder().encode('just some text') }), 'x.h5 is not an HDF5 file: the HDF5 signature was not found.');
    expect(matchKeras({ name: 'x.h5', bytes: new TextEncoder().encode('just some text') })).toBeUndefined();

    // Random damage past the superblock: either the file still reads, or a ModelFormatError.
    const noise = seeded(600, 5);
    let failures = 0;
    for (let i = 0; i < 60; i++) {
      const bad = bytes.slice();
      for (let k = 0; k < 8; k++) {
        const pos = 96 + Math.floor((noise[i * 8 + k] + 0.5) * (bad.length - 96));
        bad[pos] ^= 0xff;
      }
      try {
        await openKeras({ name: 'fuzz.h5', bytes: bad });
      } catch (e) {
        failures++;
        expect(e).toBeInstanceOf(ModelFormatError);
      }
    }
    expect(failures).toBeGreaterThan(0);
  });

  it('maps Subtract, Reshape with -1 and a ReLU layer fused into the subtraction', async () => {
    const node = (...names: string[]) => [names.map((n) => [n, 0, 0, {}])];
    const config = {
      class_name: 'Model',
      config: {
        name: 'm',
        layers: [
          { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 2, 3] }, inbound_nodes: [] },
          { class_name: 'Dense', name: 'd', config: { name: 'd', units: 3, activation: 'linear' }, inbound_nodes: node('in') },
          { class_name: 'Subtract', name: 'sub', config: { name: 'sub' }, inbound_nodes: node('d', 'in') },
          { class_name: 'ReLU', name: 'relu', config: { name: 'relu', max_value: null, negative_slope: 0, threshold: 0 }, inbound_nodes: node('sub') },
          { class_name: 'Reshape', name: 'r', config: { name: 'r', target_shape: [-1, 2] }, inbound_nodes: node('relu') },
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['r', 0, 0]],
      },
    };
    const bytes = await kerasH5({ modelConfig: config, layers: [{ name: 'd', weights: [w('d/kernel:0', [3, 3], 1), w('d/bias:0', [3], 2)] }] });
    const g = (await openKeras({ name: 'm.h5', bytes })).subgraphs[0];
    expect(g.ops.map((o) => o.type)).toEqual(['FULLY_CONNECTED', 'SUB', 'RESHAPE']);
    const fc = g.ops[0] as Extract<BuiltinOp, { type: 'FULLY_CONNECTED' }>;
    expect(fc.options.keepNumDims).toBe(true);
    expect((g.ops[1] as Extract<BuiltinOp, { type: 'SUB' }>).options.fusedActivationFunction).toBe('RELU');
    expect(g.tensors[g.ops[1].outputs[0]].name).toBe('relu');
    expect(g.tensors[g.outputs[0]].shape).toEqual([-1, 3, 2]);
    expect((g.ops[2] as Extract<BuiltinOp, { type: 'RESHAPE' }>).options.newShape).toEqual([-1, 3, 2]);
  });

  it('matches Keras 3 weights by layer order, checked against the recorded names', () => {
    for (const [cls, snake] of [
      ['Conv2D', 'conv2d'],
      ['MaxPooling2D', 'max_pooling2d'],
      ['BatchNormalization', 'batch_normalization'],
      ['DepthwiseConv2D', 'depthwise_conv2d'],
      ['SeparableConv2D', 'separable_conv2d'],
      ['GlobalAveragePooling2D', 'global_average_pooling2d'],
      ['UpSampling2D', 'up_sampling2d'],
      ['ZeroPadding2D', 'zero_padding2d'],
      ['InputLayer', 'input_layer'],
      ['ReLU', 're_lu'],
      ['LeakyReLU', 'leaky_re_lu'],
      ['Dense', 'dense'],
    ]) {
      expect(kerasSnakeCase(cls), cls).toBe(snake);
    }
  });

  describe('.keras archives', () => {
    const inputLayer = { class_name: 'InputLayer', config: { batch_shape: [null, 3], dtype: 'float32', name: 'in' }, name: 'in', inbound_nodes: [] };
    const tensor = (layer: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 3], dtype: 'float32', keras_history: [layer, 0, 0] } });
    const dense = (name: string, from: string, units = 3) => ({
      module: 'keras.layers',
      class_name: 'Dense',
      config: { name, units, activation: 'linear', use_bias: true, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' } } },
      name,
      inbound_nodes: [{ args: [tensor(from)], kwargs: {} }],
    });
    const config = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: { name: 'f', layers: [inputLayer, dense('second_named_first', 'in'), dense('z_last', 'second_named_first')], input_layers: [['in', 0, 0]], output_layers: [['z_last', 0, 0]] },
    };
    const k1 = w('0', [3, 3], 10);
    const b1 = w('1', [3], 11);
    const k2 = w('0', [3, 3], 12);
    const b2 = w('1', [3], 13);

    it('assigns layers/dense to the first Dense in model order and layers/dense_1 to the second', async () => {
      const weights = await keras3WeightsH5(
        [
          { path: 'layers/input_layer', vars: [] },
          { path: 'layers/dense', vars: [k1, b1] },
          { path: 'layers/dense_1', vars: [k2, b2] },
        ],
        false,
      );
      const bytes = kerasArchive(config, weights);
      expect(matchKeras({ name: 'm.keras', bytes })).toBe('keras.zip');
      const g = (await openKeras({ name: 'm.keras', bytes })).subgraphs[0];
      const first = g.tensors[g.ops[0].inputs[1]];
      expect(first.name).toBe('second_named_first/kernel');
      expect((first.data as Float32Array)[1]).toBe(k1.data[3]); // transposed [in,out] → [out,in]
      expect((g.tensors[g.ops[1].inputs[2]].data as Float32Array)[0]).toBe(b2.data[0]);
    });

    it('prefers the recorded layer name when it disagrees with the order', async () => {
      const weights = await keras3WeightsH5([
        { path: 'layers/dense', layerName: 'z_last', vars: [k2, b2] },
        { path: 'layers/dense_1', layerName: 'second_named_first', vars: [k1, b1] },
      ]);
      const g = (await openKeras({ name: 'm.keras', bytes: kerasArchive(config, weights) })).subgraphs[0];
      expect((g.tensors[g.ops[0].inputs[2]].data as Float32Array)[0]).toBe(b1.data[0]);
      expect((g.tensors[g.ops[1].inputs[2]].data as Float32Array)[0]).toBe(b2.data[0]);
    });

    it('names what is missing or damaged in the archive', async () => {
      await expectFormatError(openKeras({ name: 'm.keras', bytes: kerasArchive(config, undefined) }), "m.keras has no 'model.weights.h5'.");
      const weights = await keras3WeightsH5([{ path: 'layers/dense', vars: [k1, b1] }]);
      await expectFormatError(
        openKeras({ name: 'm.keras', bytes: kerasArchive(config, weights) }),
        "m.keras/model.weights.h5: the weights of layer 'z_last' (Dense) are missing.",
      );
      const full = kerasArchive(config, await keras3WeightsH5([{ path: 'layers/dense', vars: [k1, b1] }, { path: 'layers/dense_1', vars: [k2, b2] }]));
      await expectFormatError(openKeras({ name: 't.keras', bytes: full.subarray(0, full.length - 40) }), /^t\.keras is not a readable zip archive/);
      const wrongCount = kerasArchive(config, await keras3WeightsH5([{ path: 'layers/dense', vars: [k1] }, { path: 'layers/dense_1', vars: [k2, b2] }]));
      await expectFormatError(
        openKeras({ name: 'c.keras', bytes: wrongCount }),
        "c.keras: layer 'second_named_first' (Dense) has 1 weight(s) ('0'); QuantLab expected 2 (kernel, bias).",
      );
    });
  });
});
