import * as flatbuffers from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../../../src/core/errors';
import * as fb from '../../../../src/core/formats/tflite/generated/schema_generated';
import { isTfliteBytes, readTflite } from '../../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../../src/core/formats/tflite/writer';
import type { Model } from '../../../../src/core/ir/types';
import { loadOracle } from '../../../helpers/tflite-oracle';
import { addModel, rawModel, type RawModel } from './raw-model';
import { FACE_SHORT, readBytes } from './test-utils';

function f32(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function readError(bytes: Uint8Array, fileName = 'model.tflite'): ModelFormatError {
  try {
    readTflite(bytes, fileName);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    return e as ModelFormatError;
  }
  throw new Error('expected readTflite to throw');
}

function withTensors(spec: RawModel, patch: (t: RawModel['subgraphs'][0]) => void): RawModel {
  patch(spec.subgraphs[0]);
  return spec;
}

describe('readTflite on well-formed files', () => {
  it('reads the minimal model', () => {
    const model = readTflite(rawModel(addModel({ description: 'hand made' })));
    const g = model.subgraphs[0];
    expect(model.format).toBe('tflite');
    expect(model.description).toBe('hand made');
    expect(g.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['x', 'float32', [1, 2]],
      ['b', 'float32', [2]],
      ['y', 'float32', [1, 2]],
    ]);
    expect(Array.from(g.tensors[1].data as Float32Array)).toEqual([1, 2]);
    expect(g.ops).toEqual([{ type: 'ADD', options: { fusedActivationFunction: 'NONE', potScaleInt16: true }, inputs: [0, 1], outputs: [2], version: 1 }]);
  });

  it('reads bytes that start at an odd offset of a larger buffer (as Node buffers often do)', () => {
    const bytes = readBytes(FACE_SHORT);
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    const model = readTflite(big.subarray(3));
    expect(model.subgraphs[0].tensors.length).toBe(250);
    expect(Buffer.from(writeTflite(model)).equals(Buffer.from(writeTflite(readTflite(bytes))))).toBe(true);
  });

  it('recognises TFLite bytes', () => {
    expect(isTfliteBytes(rawModel(addModel()))).toBe(true);
    expect(isTfliteBytes(new TextEncoder().encode('{"format":"layers-model"}'))).toBe(false);
    expect(isTfliteBytes(new Uint8Array(3))).toBe(false);
  });

  it('keeps -1 dimensions from shape_signature and writes them back', () => {
    const spec = withTensors(addModel(), (g) => {
      g.tensors[0].shapeSignature = [-1, 2];
      g.tensors[2].shapeSignature = [-1, 2];
    });
    const model = readTflite(rawModel(spec));
    expect(model.subgraphs[0].tensors[0].shape).toEqual([-1, 2]);
    const again = readTflite(writeTflite(model));
    expect(again.subgraphs[0].tensors[0].shape).toEqual([-1, 2]);
    expect(again.subgraphs[0].tensors[2].shape).toEqual([-1, 2]);
  });

  it('reads per-tensor and per-axis quantization', () => {
    const spec: RawModel = {
      codes: [{ code: fb.BuiltinOperator.DEQUANTIZE }],
      buffers: [null, new Uint8Array([1, 2, 3, 4, 5, 6])],
      subgraphs: [
        {
          tensors: [
            { name: 'w', type: fb.TensorType.INT8, shape: [3, 2], buffer: 1, quant: { scale: [0.5, 0.25, 0.125], zeroPoint: [0n, 0n, 0n], axis: 0, min: [-1], max: [1] } },
            { name: 'a', type: fb.TensorType.INT8, shape: [1, 4], quant: { scale: [0.1], zeroPoint: [-128n] } },
            { name: 'out', shape: [3, 2] },
          ],
          inputs: [1],
          outputs: [2],
          ops: [{ opcode: 0, inputs: [0], outputs: [2] }],
        },
      ],
    };
    const g = readTflite(rawModel(spec)).subgraphs[0];
    expect(g.name).toBe('main');
    expect(g.tensors[0].quant).toEqual({ scale: [0.5, 0.25, 0.125], zeroPoint: [0, 0, 0], axis: 0, min: [-1], max: [1] });
    expect(g.tensors[1].quant).toEqual({ scale: [expect.closeTo(0.1, 7)], zeroPoint: [-128] });
    expect(g.tensors[0].data).toBeInstanceOf(Int8Array);
  });

  it('names builtins it has no options for, including codes above 127', () => {
    const spec: RawModel = {
      codes: [
        { code: fb.BuiltinOperator.GATHER },
        { code: fb.BuiltinOperator.GELU },
        { code: fb.BuiltinOperator.GELU, deprecated: 0 }, // older writer: byte field unset
        { code: 300 },
      ],
      buffers: [null],
      subgraphs: [
        {
          tensors: [{ name: 'x', shape: [4] }, { name: 'y', shape: [4] }],
          inputs: [0],
          outputs: [1],
          ops: [
            { opcode: 0, inputs: [0, 0], outputs: [1] },
            { opcode: 1, inputs: [0], outputs: [1] },
            { opcode: 2, inputs: [0], outputs: [1] },
            { opcode: 3, inputs: [0], outputs: [1] },
          ],
        },
      ],
    };
    const model = readTflite(rawModel(spec));
    const ops = model.subgraphs[0].ops;
    expect(ops.map((op) => (op.type === 'UNKNOWN_BUILTIN' ? [op.code, op.builtinCode] : []))).toEqual([
      ['GATHER', 36],
      ['GELU', 150],
      ['GELU', 150],
      ['BUILTIN_300', 300],
    ]);
    const again = readTflite(writeTflite(model));
    expect(again.subgraphs[0].ops.map((op) => (op.type === 'UNKNOWN_BUILTIN' ? op.code : ''))).toEqual(['GATHER', 'GELU', 'GELU', 'BUILTIN_300']);
  });

  it('writes codes above 127 with the placeholder in the deprecated byte', () => {
    const model = readTflite(rawModel({ ...addModel(), codes: [{ code: fb.BuiltinOperator.GELU }] }));
    const bytes = writeTflite(model);
    const codes = fb.Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes)).operatorCodes(0)!;
    expect([codes.deprecatedBuiltinCode(), codes.builtinCode()]).toEqual([127, 150]);
  });

  it('reads metadata, signatures and several subgraphs, and writes them back', () => {
    const spec = addModel({
      buffers: [null, f32([1, 2]), new TextEncoder().encode('1.14.0')],
      metadata: [{ name: 'min_runtime_version', buffer: 2 }],
      signatures: [{ key: 'serving_default', subgraph: 0, inputs: [['x', 0]], outputs: [['y', 2]] }],
      description: 'MLIR Converted.',
    });
    spec.subgraphs.push({ name: 'second', tensors: [{ name: 's', shape: [1] }], inputs: [0], outputs: [0], ops: [] });
    const model = readTflite(rawModel(spec));
    expect(model.producer).toBe('MLIR Converted.; min runtime 1.14.0');
    expect(model.metadata?.[0].name).toBe('min_runtime_version');
    expect(model.signatures).toEqual([{ key: 'serving_default', subgraph: 0, inputs: [{ name: 'x', tensor: 0 }], outputs: [{ name: 'y', tensor: 2 }] }]);
    expect(model.subgraphs.map((g) => g.name)).toEqual(['main', 'second']);
    const again = readTflite(writeTflite(model));
    expect(again.signatures).toEqual(model.signatures);
    expect(again.metadata).toEqual(model.metadata);
    expect(again.subgraphs[1].tensors[0].name).toBe('s');
  });

  it('reads buffers stored after the flatbuffer (the >2 GB layout)', () => {
    // The header's length does not depend on the offset's value, so measure it once.
    const headLength = rawModel(addModel({ buffers: [null, { offset: 2n, size: 8n }] })).length;
    const offset = headLength + 16;
    const head = rawModel(addModel({ buffers: [null, { offset: BigInt(offset), size: 8n }] }));
    expect(head.length).toBe(headLength);
    const file = new Uint8Array(offset + 8);
    file.set(head);
    file.set(f32([3, 4]), offset);
    const g = readTflite(file).subgraphs[0];
    expect(Array.from(g.tensors[1].data as Float32Array)).toEqual([3, 4]);
  });

  it('keeps every IR dtype through write and read', () => {
    const dtypes: [fb.TensorType, Uint8Array][] = [
      [fb.TensorType.FLOAT32, f32([1.5, -2])],
      [fb.TensorType.FLOAT16, new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer)],
      [fb.TensorType.INT8, new Uint8Array([0xff, 1])],
      [fb.TensorType.UINT8, new Uint8Array([200, 1])],
      [fb.TensorType.INT16, new Uint8Array(new Int16Array([-300, 7]).buffer)],
      [fb.TensorType.INT32, new Uint8Array(new Int32Array([-70000, 7]).buffer)],
      [fb.TensorType.INT64, new Uint8Array(new BigInt64Array([-(2n ** 40n), 7n]).buffer)],
      [fb.TensorType.BOOL, new Uint8Array([1, 0])],
    ];
    const spec: RawModel = {
      codes: [],
      buffers: [null, ...dtypes.map(([, d]) => d)],
      subgraphs: [{ tensors: dtypes.map(([type], i) => ({ name: `t${i}`, type, shape: [2], buffer: i + 1 })), inputs: [], outputs: [0], ops: [] }],
    };
    const model = readTflite(rawModel(spec));
    const g = model.subgraphs[0];
    expect(g.tensors.map((t) => t.dtype)).toEqual(['float32', 'float16', 'int8', 'uint8', 'int16', 'int32', 'int64', 'bool']);
    expect(g.tensors.map((t) => t.data?.constructor.name)).toEqual([
      'Float32Array', 'Uint16Array', 'Int8Array', 'Uint8Array', 'Int16Array', 'Int32Array', 'BigInt64Array', 'Uint8Array',
    ]);
    expect(Array.from(g.tensors[6].data as BigInt64Array)).toEqual([-(2n ** 40n), 7n]);
    const again = readTflite(writeTflite(model)).subgraphs[0];
    again.tensors.forEach((t, i) => expect(Array.from(t.data as ArrayLike<number>)).toEqual(Array.from(g.tensors[i].data as ArrayLike<number>)));
  });

  it('aligns constant data to 16 bytes in written files', () => {
    const model = readTflite(readBytes(FACE_SHORT));
    const bytes = writeTflite(model);
    const root = fb.Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes));
    for (let i = 0; i < root.buffersLength(); i++) {
      const data = root.buffers(i)!.dataArray();
      if (data && data.length) expect((data.byteOffset - bytes.byteOffset) % 16).toBe(0);
    }
  });
});

describe('readTflite error sentences', () => {
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['a file that is too short', () => new Uint8Array(5), /^model\.tflite: the file is 5 bytes long, too short to be a TensorFlow Lite model\.$/],
    ['a file that is not TFLite', () => new TextEncoder().encode('PK\u0003\u0004 zip archive here'), /^model\.tflite: the file identifier is ".*", not "TFL3": this is not a TensorFlow Lite model\.$/],
    ['a wrong schema version', () => rawModel(addModel({ version: 2 })), /^model\.tflite: the model has schema version 2; QuantLab reads version 3\.$/],
    ['no subgraphs', () => rawModel(addModel({ subgraphs: [] })), /the model has no subgraphs/],
    [
      'a buffer of the wrong size',
      () =>
        rawModel({
          codes: [],
          buffers: [null, null, null, null, null, null, null, new Uint8Array(100)],
          subgraphs: [{ tensors: [{}, {}, {}, { name: 'conv1/w', shape: [64, 3, 3, 3], buffer: 7 }], inputs: [], outputs: [3], ops: [] }],
        }),
      /^model\.tflite: tensor 'conv1\/w' \(index 3\) has shape \[64,3,3,3\] = 1728 float32 values but its buffer 7 holds 100 bytes\.$/,
    ],
    ['a buffer index out of range', () => rawModel(withTensors(addModel(), (g) => (g.tensors[1].buffer = 9))), /tensor 'b' \(index 1\) refers to buffer 9, but the file has only 2 buffers\./],
    ['an op input out of range', () => rawModel(withTensors(addModel(), (g) => (g.ops[0].inputs = [0, 7]))), /op 0 \(ADD 'y'\) input 1 is tensor 7, but the subgraph has only 3 tensors\./],
    ['an op output out of range', () => rawModel(withTensors(addModel(), (g) => (g.ops[0].outputs = [-1]))), /op 0 \(ADD\) output 0 is tensor -1/],
    ['an operator code index out of range', () => rawModel(withTensors(addModel(), (g) => (g.ops[0].opcode = 4))), /op 0 refers to operator code 4, but the file lists only 1 operator code\./],
    ['a graph input out of range', () => rawModel(withTensors(addModel(), (g) => (g.inputs = [5]))), /the inputs of subgraph 'main' include tensor 5, but the subgraph has only 3 tensors\./],
    ['an unsupported tensor type', () => rawModel(withTensors(addModel(), (g) => (g.tensors[0].type = fb.TensorType.COMPLEX64))), /tensor 'x' \(index 0\) has type 'COMPLEX64', which QuantLab does not support\./],
    ['a negative dimension', () => rawModel(withTensors(addModel(), (g) => (g.tensors[0].shape = [1, -5]))), /tensor 'x' \(index 0\) has dimension -5 in its shape \[1,\?\]/],
    ['an absurd element count', () => rawModel(withTensors(addModel(), (g) => (g.tensors[2].shape = [65536, 65536]))), /tensor 'y' \(index 2\) has shape \[65536,65536\] = 4294967296 elements, more than QuantLab accepts/],
    ['a rank mismatch between shape and signature', () => rawModel(withTensors(addModel(), (g) => (g.tensors[0].shapeSignature = [-1]))), /tensor 'x' \(index 0\) has shape \[1,2\] but shape signature \[\?\] of a different rank/],
    ['constant data with unknown dims', () => rawModel(withTensors(addModel(), (g) => (g.tensors[1].shapeSignature = [-1]))), /tensor 'b' \(index 1\) holds constant data in buffer 1 but its shape \[\?\] has unknown dimensions/],
    [
      'scales and zero points that do not match',
      () => rawModel(withTensors(addModel(), (g) => (g.tensors[0].quant = { scale: [1, 2], zeroPoint: [0n], axis: 1 }))),
      /tensor 'x' \(index 0\) has 2 quantization scales but 1 zero point; they must match\./,
    ],
    [
      'per-axis scales for the wrong dimension size',
      () => rawModel(withTensors(addModel(), (g) => (g.tensors[0].quant = { scale: [1, 2, 3], zeroPoint: [0n, 0n, 0n], axis: 1 }))),
      /tensor 'x' \(index 0\) has 3 per-channel scales for dimension 1 of shape \[1,2\], which has size 2\./,
    ],
    [
      'a quantized dimension outside the shape',
      () => rawModel(withTensors(addModel(), (g) => (g.tensors[0].quant = { scale: [1, 2], zeroPoint: [0n, 0n], axis: 4 }))),
      /tensor 'x' \(index 0\) is quantized along dimension 4, but its shape \[1,2\] has 2 dimensions\./,
    ],
    ['a negative scale', () => rawModel(withTensors(addModel(), (g) => (g.tensors[0].quant = { scale: [-1], zeroPoint: [0n] }))), /quantization scale -1; scales must be finite/],
    ['a huge zero point', () => rawModel(withTensors(addModel(), (g) => (g.tensors[0].quant = { scale: [1], zeroPoint: [2n ** 40n] }))), /zero point 1099511627776, outside the 32-bit range/],
    ['custom quantization', () => rawModel(withTensors(addModel(), (g) => (g.tensors[0].quant = { scale: [1], zeroPoint: [0n], customDetails: true }))), /uses custom quantization details/],
    ['a sparse tensor without levels', () => rawModel(withTensors(addModel(), (g) => (g.tensors[1].sparse = true))), /tensor 'b' \(index 1\) has invalid sparse storage: it describes 0 levels for 1 traversal dimensions\./],
    ['a custom op without a code', () => rawModel(addModel({ codes: [{ code: fb.BuiltinOperator.CUSTOM }] })), /op 0 \(CUSTOM 'y'\) is a custom op without a custom code\./],
    [
      'options of the wrong kind',
      () => rawModel(withTensors(addModel(), (g) => (g.ops[0].options = (b) => [fb.BuiltinOptions.MulOptions, fb.MulOptions.createMulOptions(b, 0)]))),
      /op 0 \(ADD 'y'\) carries MulOptions where AddOptions belong\./,
    ],
    [
      'a bad activation code',
      () => rawModel(withTensors(addModel(), (g) => (g.ops[0].options = (b) => [fb.BuiltinOptions.AddOptions, fb.AddOptions.createAddOptions(b, 9 as fb.ActivationFunctionType, true)]))),
      /op 0 \(ADD 'y'\) has fused activation code 9; expected 0–5\./,
    ],
    [
      'a zero stride',
      () =>
        rawModel({
          codes: [{ code: fb.BuiltinOperator.MAX_POOL_2D }],
          buffers: [null],
          subgraphs: [
            {
              tensors: [{ name: 'x', shape: [1, 4, 4, 1] }, { name: 'pool', shape: [1, 2, 2, 1] }],
              inputs: [0],
              outputs: [1],
              ops: [{ opcode: 0, inputs: [0], outputs: [1], options: (b) => [fb.BuiltinOptions.Pool2DOptions, fb.Pool2DOptions.createPool2DOptions(b, 1, 0, 2, 2, 2, 0)] }],
            },
          ],
        }),
      /op 0 \(MAX_POOL_2D 'pool'\) has stride_w 0; it must be at least 1\./,
    ],
    [
      'a conv without options',
      () =>
        rawModel({
          codes: [{ code: fb.BuiltinOperator.CONV_2D }],
          buffers: [null],
          subgraphs: [{ tensors: [{ name: 'x' }, { name: 'w' }, { name: 'c' }], inputs: [0], outputs: [2], ops: [{ opcode: 0, inputs: [0, 1], outputs: [2] }] }],
        }),
      /op 0 \(CONV_2D 'c'\) has no Conv2DOptions\./,
    ],
    ['a metadata buffer out of range', () => rawModel(addModel({ metadata: [{ name: 'm', buffer: 5 }] })), /metadata 'm' refers to buffer 5, but the file has only 2 buffers\./],
    ['a signature with a bad tensor', () => rawModel(addModel({ signatures: [{ key: 'k', subgraph: 0, inputs: [['x', 40]], outputs: [] }] })), /signature 'k' maps input 'x' to tensor 40, but its subgraph has only 3 tensors\./],
    ['external buffer data past the end', () => rawModel(addModel({ buffers: [null, { offset: 100000n, size: 8n }] })), /the data of buffer 1 \(tensor 'b'\) lies at bytes 100000–100008 but the file has only \d+ bytes; it is truncated\./],
    ['a truncated file', () => readBytes(FACE_SHORT).slice(0, 150_000), /^model\.tflite(:| is corrupt:) /],
  ];

  it.each(cases)('%s', (_, make, message) => {
    const error = readError(make());
    expect(error.message).toMatch(message);
    expect(error.code).toBe('bad-model');
  });

  it('names the file it was given', () => {
    expect(readError(new Uint8Array(2), 'upload.tflite').message).toMatch(/^upload\.tflite: /);
  });

  it('agrees with TFLite on the files TFLite refuses for bad buffer sizes and indices', async () => {
    const oracle = await loadOracle();
    const bad = [
      rawModel(withTensors(addModel(), (g) => (g.tensors[1].buffer = 9))),
      rawModel(withTensors(addModel(), (g) => (g.ops[0].inputs = [0, 7]))),
      rawModel(withTensors(addModel(), (g) => (g.tensors[1].shape = [3]))),
    ];
    for (const bytes of bad) {
      expect(() => readTflite(bytes)).toThrow(ModelFormatError);
      expect(() => oracle.run(bytes, [new Float32Array(2)])).toThrow(/TFLite refused the model/);
    }
  });
});

describe('writeTflite refuses inconsistent models with a sentence', () => {
  const base = (): Model => readTflite(rawModel(addModel()));
  it.each<[string, (m: Model) => void, RegExp]>([
    ['data of the wrong length', (m) => (m.subgraphs[0].tensors[1].data = new Float32Array(3)), /tensor 'b' \(index 1\): shape \[2\] needs 2 values but its data holds 3\./],
    ['data of the wrong kind', (m) => (m.subgraphs[0].tensors[1].data = new Int32Array(2)), /tensor 'b' \(index 1\): its data is a Int32Array, which does not hold float32 values\./],
    ['a dangling op input', (m) => (m.subgraphs[0].ops[0].inputs = [0, 9]), /op 0 \(ADD\) input list refers to tensor 9/],
    ['per-axis scales without an axis', (m) => (m.subgraphs[0].tensors[0].quant = { scale: [1, 2], zeroPoint: [0, 0] }), /per-axis quantization needs an axis/],
  ])('%s', (_, breakIt, message) => {
    const model = base();
    breakIt(model);
    expect(() => writeTflite(model)).toThrow(message);
  });
});
