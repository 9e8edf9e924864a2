/**
 * IR → .tflite.
 *
 * Writes what the TFLite interpreter accepts: schema version 3 with identifier "TFL3", buffer 0
 * as the empty sentinel, one buffer per constant tensor (16-byte aligned data), operator codes
 * carrying both the deprecated byte code and the full code, op versions from versions.ts,
 * `shape_signature` for tensors with unknown dimensions (their `shape` then holds 1 there, as
 * TFLite's converter writes it).
 */

import * as flatbuffers from 'flatbuffers';
import { ModelFormatError, UnsupportedError } from '../../errors';
import { dataMatchesDType, elementCount, formatShape, tensorDataBytes } from '../../ir/graph';
import type { DType, Graph, Model, Op, QuantParams, Tensor } from '../../ir/types';
import * as fb from './generated/schema_generated';
import {
  ACTIVATION_CODE,
  PADDING_CODE,
  TENSOR_TYPE_BY_DTYPE,
  TFLITE_OPS,
  builtinCodeByName,
} from './op-table';
import { TFLITE_FILE_IDENTIFIER, TFLITE_SCHEMA_VERSION } from './reader';
import { writtenOpVersion } from './versions';

const CUSTOM_CODE = fb.BuiltinOperator.CUSTOM as number;
/** Codes from 127 on only fit the 32-bit `builtin_code` field. */
const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface OpCodeKey {
  code: number;
  custom: string | null;
  version: number;
}

/** Serialises a model. Throws ModelFormatError for an inconsistent model (bad index, data size). */
export function writeTflite(model: Model): Uint8Array {
  if (!littleEndian) throw new UnsupportedError('Writing .tflite files needs a little-endian machine.');
  if (model.subgraphs.length === 0) throw new ModelFormatError('Cannot write a model without subgraphs.');
  return new TfliteWriter(model).write();
}

class TfliteWriter {
  private readonly builder: flatbuffers.Builder;
  /** Serialised buffers in order; index 0 is the empty sentinel. */
  private readonly buffers: (Uint8Array | null)[] = [null];
  private readonly opCodes: OpCodeKey[] = [];
  private readonly opCodeIndex = new Map<string, number>();

  constructor(private readonly model: Model) {
    let dataBytes = 0;
    for (const g of model.subgraphs) for (const t of g.tensors) dataBytes += t.data?.byteLength ?? 0;
    this.builder = new flatbuffers.Builder(Math.min(2 ** 30, 1024 + Math.ceil(dataBytes * 1.125)));
  }

  write(): Uint8Array {
    const b = this.builder;
    const model = this.model;
    this.checkModel();

    // Everything a table points to must exist before the table is started, so build bottom-up:
    // subgraphs (collecting op codes and buffers on the way), then codes, buffers, the model.
    const subgraphOffsets = model.subgraphs.map((g) => this.writeSubgraph(withConvBiases(g)));

    const metadataOffsets = (model.metadata ?? []).map((m) => {
      const bufferIndex = this.addBuffer(m.data);
      const name = b.createString(m.name);
      fb.Metadata.startMetadata(b);
      fb.Metadata.addName(b, name);
      fb.Metadata.addBuffer(b, bufferIndex);
      return fb.Metadata.endMetadata(b);
    });

    const signatureOffsets = (model.signatures ?? []).map((s) => {
      const maps = (list: { name: string; tensor: number }[]) =>
        list.map((e) => {
          const name = b.createString(e.name);
          fb.TensorMap.startTensorMap(b);
          fb.TensorMap.addName(b, name);
          fb.TensorMap.addTensorIndex(b, e.tensor);
          return fb.TensorMap.endTensorMap(b);
        });
      const inputs = fb.SignatureDef.createInputsVector(b, maps(s.inputs));
      const outputs = fb.SignatureDef.createOutputsVector(b, maps(s.outputs));
      const key = b.createString(s.key);
      fb.SignatureDef.startSignatureDef(b);
      fb.SignatureDef.addInputs(b, inputs);
      fb.SignatureDef.addOutputs(b, outputs);
      fb.SignatureDef.addSignatureKey(b, key);
      fb.SignatureDef.addSubgraphIndex(b, s.subgraph);
      return fb.SignatureDef.endSignatureDef(b);
    });

    const codeOffsets = this.opCodes.map((c) => {
      const custom = c.custom !== null ? b.createString(c.custom) : 0;
      fb.OperatorCode.startOperatorCode(b);
      fb.OperatorCode.addDeprecatedBuiltinCode(b, Math.min(c.code, PLACEHOLDER_FOR_GREATER_OP_CODES));
      if (custom) fb.OperatorCode.addCustomCode(b, custom);
      fb.OperatorCode.addVersion(b, c.version);
      fb.OperatorCode.addBuiltinCode(b, c.code);
      return fb.OperatorCode.endOperatorCode(b);
    });

    const bufferOffsets = this.buffers.map((data) => {
      const vec = data ? this.alignedBytes(data, 16) : 0;
      fb.Buffer.startBuffer(b);
      if (vec) fb.Buffer.addData(b, vec);
      return fb.Buffer.endBuffer(b);
    });

    const codesVec = fb.Model.createOperatorCodesVector(b, codeOffsets);
    const subgraphsVec = fb.Model.createSubgraphsVector(b, subgraphOffsets);
    const buffersVec = fb.Model.createBuffersVector(b, bufferOffsets);
    const description = model.description !== undefined ? b.createString(model.description) : 0;
    const metadataVec = metadataOffsets.length ? fb.Model.createMetadataVector(b, metadataOffsets) : 0;
    const signaturesVec = signatureOffsets.length ? fb.Model.createSignatureDefsVector(b, signatureOffsets) : 0;

    fb.Model.startModel(b);
    fb.Model.addVersion(b, TFLITE_SCHEMA_VERSION);
    fb.Model.addOperatorCodes(b, codesVec);
    fb.Model.addSubgraphs(b, subgraphsVec);
    if (description) fb.Model.addDescription(b, description);
    fb.Model.addBuffers(b, buffersVec);
    if (metadataVec) fb.Model.addMetadata(b, metadataVec);
    if (signaturesVec) fb.Model.addSignatureDefs(b, signaturesVec);
    const root = fb.Model.endModel(b);
    b.finish(root, TFLITE_FILE_IDENTIFIER);
    return b.asUint8Array().slice();
  }

  /** A byte vector whose first byte sits at a multiple of `alignment` from the file start. */
  private alignedBytes(data: Uint8Array, alignment: number): flatbuffers.Offset {
    // Pad so that the position after the data is aligned; the vector is then written without
    // further padding, so its first byte lands on the boundary. prep() also raises the
    // buffer's minimum alignment, which makes "aligned from the end" mean "aligned from the start".
    this.builder.prep(alignment, data.length);
    return this.builder.createByteVector(data);
  }

  private addBuffer(data: Uint8Array): number {
    this.buffers.push(data);
    return this.buffers.length - 1;
  }

  private opCode(key: OpCodeKey): number {
    const id = `${key.code}\u0000${key.custom ?? ''}\u0000${key.version}`;
    let index = this.opCodeIndex.get(id);
    if (index === undefined) {
      index = this.opCodes.length;
      this.opCodes.push(key);
      this.opCodeIndex.set(id, index);
    }
    return index;
  }

  /** Consistency the file format itself needs; fuller checks live in ir/validate. */
  private checkModel(): void {
    const model = this.model;
    model.subgraphs.forEach((g, s) => {
      const where = model.subgraphs.length > 1 ? ` in subgraph '${g.name}'` : '';
      const n = g.tensors.length;
      g.tensors.forEach((t, i) => {
        const label = `tensor '${t.name}' (index ${i})${where}`;
        if (!(t.dtype in TENSOR_TYPE_BY_DTYPE)) throw new UnsupportedError(`Cannot write ${label}: unknown dtype '${String(t.dtype)}'.`);
        for (const d of t.shape) {
          if (!Number.isInteger(d) || d < -1) throw new ModelFormatError(`Cannot write ${label}: bad dimension ${d} in shape ${formatShape(t.shape)}.`);
        }
        if (t.data) {
          if (!dataMatchesDType(t.dtype, t.data)) {
            throw new ModelFormatError(`Cannot write ${label}: its data is a ${t.data.constructor.name}, which does not hold ${t.dtype} values.`);
          }
          const count = elementCount(t.shape);
          if (t.data.length !== count) {
            throw new ModelFormatError(
              `Cannot write ${label}: shape ${formatShape(t.shape)} needs ${Number.isNaN(count) ? 'a known size' : `${count} values`} but its data holds ${t.data.length}.`,
            );
          }
        }
        if (t.quant) this.checkQuant(t, label);
      });
      const check = (list: number[], what: string, optional: boolean) => {
        for (const t of list) {
          if (!Number.isInteger(t) || t >= n || t < (optional ? -1 : 0)) {
            throw new ModelFormatError(`Cannot write graph '${g.name}': ${what} refers to tensor ${t}, but the graph has ${n} tensors.`);
          }
        }
      };
      check(g.inputs, 'the input list', false);
      check(g.outputs, 'the output list', false);
      g.ops.forEach((op, i) => {
        check(op.inputs, `op ${i} (${op.type}) input list`, true);
        check(op.outputs, `op ${i} (${op.type}) output list`, false);
        if (op.type === 'UNKNOWN_BUILTIN' && op.builtinCode === undefined && builtinCodeByName(op.code) === undefined) {
          throw new UnsupportedError(`Cannot write op ${i}: builtin '${op.code}' has no known TFLite code.`);
        }
      });
      void s;
    });
    for (const sig of model.signatures ?? []) {
      const g = model.subgraphs[sig.subgraph];
      if (!g) throw new ModelFormatError(`Cannot write signature '${sig.key}': subgraph ${sig.subgraph} does not exist.`);
      for (const e of [...sig.inputs, ...sig.outputs]) {
        if (e.tensor < 0 || e.tensor >= g.tensors.length) {
          throw new ModelFormatError(`Cannot write signature '${sig.key}': '${e.name}' refers to tensor ${e.tensor}, which does not exist.`);
        }
      }
    }
  }

  private checkQuant(t: Tensor, label: string): void {
    const q = t.quant as QuantParams;
    if (q.scale.length !== q.zeroPoint.length) {
      throw new ModelFormatError(`Cannot write ${label}: ${q.scale.length} scales but ${q.zeroPoint.length} zero points.`);
    }
    if (q.scale.length > 1 && (q.axis === undefined || q.axis < 0 || q.axis >= t.shape.length)) {
      throw new ModelFormatError(`Cannot write ${label}: per-axis quantization needs an axis inside shape ${formatShape(t.shape)} (got ${q.axis}).`);
    }
    if (q.scale.length > 1 && q.axis !== undefined && t.shape[q.axis] >= 0 && t.shape[q.axis] !== q.scale.length) {
      throw new ModelFormatError(
        `Cannot write ${label}: ${q.scale.length} scales along dimension ${q.axis} of shape ${formatShape(t.shape)}.`,
      );
    }
    for (const z of q.zeroPoint) {
      if (!Number.isInteger(z)) throw new ModelFormatError(`Cannot write ${label}: zero point ${z} is not an integer.`);
    }
  }

  private writeSubgraph(g: Graph): flatbuffers.Offset {
    const b = this.builder;
    const tensorOffsets = g.tensors.map((t) => this.writeTensor(t));
    const opOffsets = g.ops.map((op) => this.writeOp(g, op));
    const tensorsVec = fb.SubGraph.createTensorsVector(b, tensorOffsets);
    const inputsVec = fb.SubGraph.createInputsVector(b, g.inputs);
    const outputsVec = fb.SubGraph.createOutputsVector(b, g.outputs);
    const opsVec = fb.SubGraph.createOperatorsVector(b, opOffsets);
    const name = b.createString(g.name);
    fb.SubGraph.startSubGraph(b);
    fb.SubGraph.addTensors(b, tensorsVec);
    fb.SubGraph.addInputs(b, inputsVec);
    fb.SubGraph.addOutputs(b, outputsVec);
    fb.SubGraph.addOperators(b, opsVec);
    fb.SubGraph.addName(b, name);
    return fb.SubGraph.endSubGraph(b);
  }

  private writeTensor(t: Tensor): flatbuffers.Offset {
    const b = this.builder;
    const dynamic = t.shape.some((d) => d < 0);
    const shapeVec = fb.Tensor.createShapeVector(b, t.shape.map((d) => (d < 0 ? 1 : d)));
    const signatureVec = dynamic ? fb.Tensor.createShapeSignatureVector(b, t.shape) : 0;
    const name = b.createString(t.name);
    const quant = t.quant ? this.writeQuant(t.quant) : 0;
    const bufferIndex = t.data ? this.addBuffer(tensorDataBytes(t.data)) : 0;
    fb.Tensor.startTensor(b);
    fb.Tensor.addShape(b, shapeVec);
    fb.Tensor.addType(b, TENSOR_TYPE_BY_DTYPE[t.dtype]);
    fb.Tensor.addBuffer(b, bufferIndex);
    fb.Tensor.addName(b, name);
    if (quant) fb.Tensor.addQuantization(b, quant);
    if (t.isVariable) fb.Tensor.addIsVariable(b, true);
    if (signatureVec) fb.Tensor.addShapeSignature(b, signatureVec);
    return fb.Tensor.endTensor(b);
  }

  private writeQuant(q: QuantParams): flatbuffers.Offset {
    const b = this.builder;
    const min = q.min?.length ? fb.QuantizationParameters.createMinVector(b, q.min) : 0;
    const max = q.max?.length ? fb.QuantizationParameters.createMaxVector(b, q.max) : 0;
    const scale = fb.QuantizationParameters.createScaleVector(b, q.scale);
    const zeroPoint = fb.QuantizationParameters.createZeroPointVector(b, q.zeroPoint.map((z) => BigInt(z)));
    fb.QuantizationParameters.startQuantizationParameters(b);
    if (min) fb.QuantizationParameters.addMin(b, min);
    if (max) fb.QuantizationParameters.addMax(b, max);
    fb.QuantizationParameters.addScale(b, scale);
    fb.QuantizationParameters.addZeroPoint(b, zeroPoint);
    if (q.axis !== undefined && q.axis !== 0) fb.QuantizationParameters.addQuantizedDimension(b, q.axis);
    return fb.QuantizationParameters.endQuantizationParameters(b);
  }

  private writeOp(g: Graph, op: Op): flatbuffers.Offset {
    const b = this.builder;
    const version = writtenOpVersion(g, op);
    let code: number;
    let custom: string | null = null;
    if (op.type === 'CUSTOM') {
      code = CUSTOM_CODE;
      custom = op.code;
    } else if (op.type === 'UNKNOWN_BUILTIN') {
      code = op.builtinCode ?? (builtinCodeByName(op.code) as number);
    } else {
      code = TFLITE_OPS[op.type].code;
    }
    const opcodeIndex = this.opCode({ code, custom, version });

    const [optionsType, optionsOffset] = this.writeOptions(op);
    const customOptions =
      (op.type === 'CUSTOM' || op.type === 'UNKNOWN_BUILTIN') && op.customOptions
        ? fb.Operator.createCustomOptionsVector(b, op.customOptions)
        : 0;
    const inputsVec = fb.Operator.createInputsVector(b, op.inputs);
    const outputsVec = fb.Operator.createOutputsVector(b, op.outputs);
    fb.Operator.startOperator(b);
    fb.Operator.addOpcodeIndex(b, opcodeIndex);
    fb.Operator.addInputs(b, inputsVec);
    fb.Operator.addOutputs(b, outputsVec);
    if (optionsOffset) {
      fb.Operator.addBuiltinOptionsType(b, optionsType);
      fb.Operator.addBuiltinOptions(b, optionsOffset);
    }
    if (customOptions) {
      fb.Operator.addCustomOptions(b, customOptions);
      fb.Operator.addCustomOptionsFormat(b, fb.CustomOptionsFormat.FLEXBUFFERS);
    }
    return fb.Operator.endOperator(b);
  }

  /** The options union member and table for an op; [NONE, 0] when the op has none. */
  private writeOptions(op: Op): [fb.BuiltinOptions, flatbuffers.Offset] {
    const b = this.builder;
    const T = fb.BuiltinOptions;
    switch (op.type) {
      case 'CONV_2D': {
        const o = op.options;
        return [
          T.Conv2DOptions,
          fb.Conv2DOptions.createConv2DOptions(
            b,
            PADDING_CODE[o.padding],
            o.strideW,
            o.strideH,
            ACTIVATION_CODE[o.fusedActivationFunction],
            o.dilationWFactor,
            o.dilationHFactor,
            fb.TensorType.FLOAT32,
          ),
        ];
      }
      case 'DEPTHWISE_CONV_2D': {
        const o = op.options;
        return [
          T.DepthwiseConv2DOptions,
          fb.DepthwiseConv2DOptions.createDepthwiseConv2DOptions(
            b,
            PADDING_CODE[o.padding],
            o.strideW,
            o.strideH,
            o.depthMultiplier,
            ACTIVATION_CODE[o.fusedActivationFunction],
            o.dilationWFactor,
            o.dilationHFactor,
          ),
        ];
      }
      case 'FULLY_CONNECTED': {
        const o = op.options;
        return [
          T.FullyConnectedOptions,
          fb.FullyConnectedOptions.createFullyConnectedOptions(
            b,
            ACTIVATION_CODE[o.fusedActivationFunction],
            o.weightsFormat === 'DEFAULT'
              ? fb.FullyConnectedOptionsWeightsFormat.DEFAULT
              : fb.FullyConnectedOptionsWeightsFormat.SHUFFLED4x16INT8,
            o.keepNumDims,
            o.asymmetricQuantizeInputs,
            fb.TensorType.FLOAT32,
          ),
        ];
      }
      case 'TRANSPOSE_CONV': {
        const o = op.options;
        return [
          T.TransposeConvOptions,
          fb.TransposeConvOptions.createTransposeConvOptions(
            b,
            PADDING_CODE[o.padding],
            o.strideW,
            o.strideH,
            ACTIVATION_CODE[o.fusedActivationFunction],
            fb.TensorType.FLOAT32,
          ),
        ];
      }
      case 'ADD':
        return [T.AddOptions, fb.AddOptions.createAddOptions(b, ACTIVATION_CODE[op.options.fusedActivationFunction], op.options.potScaleInt16)];
      case 'SUB':
        return [T.SubOptions, fb.SubOptions.createSubOptions(b, ACTIVATION_CODE[op.options.fusedActivationFunction], op.options.potScaleInt16)];
      case 'MUL':
        return [T.MulOptions, fb.MulOptions.createMulOptions(b, ACTIVATION_CODE[op.options.fusedActivationFunction])];
      case 'AVERAGE_POOL_2D':
      case 'MAX_POOL_2D': {
        const o = op.options;
        return [
          T.Pool2DOptions,
          fb.Pool2DOptions.createPool2DOptions(
            b,
            PADDING_CODE[o.padding],
            o.strideW,
            o.strideH,
            o.filterWidth,
            o.filterHeight,
            ACTIVATION_CODE[o.fusedActivationFunction],
          ),
        ];
      }
      case 'MEAN':
        return [T.ReducerOptions, fb.ReducerOptions.createReducerOptions(b, op.options.keepDims)];
      case 'RESHAPE': {
        const newShape = op.options.newShape.length ? fb.ReshapeOptions.createNewShapeVector(b, op.options.newShape) : 0;
        fb.ReshapeOptions.startReshapeOptions(b);
        if (newShape) fb.ReshapeOptions.addNewShape(b, newShape);
        return [T.ReshapeOptions, fb.ReshapeOptions.endReshapeOptions(b)];
      }
      case 'SQUEEZE': {
        const dims = op.options.squeezeDims.length ? fb.SqueezeOptions.createSqueezeDimsVector(b, op.options.squeezeDims) : 0;
        fb.SqueezeOptions.startSqueezeOptions(b);
        if (dims) fb.SqueezeOptions.addSqueezeDims(b, dims);
        return [T.SqueezeOptions, fb.SqueezeOptions.endSqueezeOptions(b)];
      }
      case 'CONCATENATION':
        return [
          T.ConcatenationOptions,
          fb.ConcatenationOptions.createConcatenationOptions(b, op.options.axis, ACTIVATION_CODE[op.options.fusedActivationFunction]),
        ];
      case 'LEAKY_RELU':
        return [T.LeakyReluOptions, fb.LeakyReluOptions.createLeakyReluOptions(b, op.options.alpha)];
      case 'SOFTMAX':
        return [T.SoftmaxOptions, fb.SoftmaxOptions.createSoftmaxOptions(b, op.options.beta)];
      case 'RESIZE_BILINEAR':
        fb.ResizeBilinearOptions.startResizeBilinearOptions(b);
        fb.ResizeBilinearOptions.addAlignCorners(b, op.options.alignCorners);
        fb.ResizeBilinearOptions.addHalfPixelCenters(b, op.options.halfPixelCenters);
        return [T.ResizeBilinearOptions, fb.ResizeBilinearOptions.endResizeBilinearOptions(b)];
      case 'RESIZE_NEAREST_NEIGHBOR':
        return [
          T.ResizeNearestNeighborOptions,
          fb.ResizeNearestNeighborOptions.createResizeNearestNeighborOptions(b, op.options.alignCorners, op.options.halfPixelCenters),
        ];
      case 'DEPTH_TO_SPACE':
        return [T.DepthToSpaceOptions, fb.DepthToSpaceOptions.createDepthToSpaceOptions(b, op.options.blockSize)];
      case 'SPACE_TO_DEPTH':
        return [T.SpaceToDepthOptions, fb.SpaceToDepthOptions.createSpaceToDepthOptions(b, op.options.blockSize)];
      case 'PAD':
      case 'RELU':
      case 'RELU6':
      case 'PRELU':
      case 'HARD_SWISH':
      case 'LOGISTIC':
      case 'TANH':
      case 'DEQUANTIZE':
      case 'QUANTIZE':
      case 'CUSTOM':
      case 'UNKNOWN_BUILTIN':
        return [T.NONE, 0];
    }
  }
}

/**
 * TFLite's CONV_2D and DEPTHWISE_CONV_2D kernels insist on a bias operand ("has_bias was not
 * true"), so a convolution without one gets an explicit zero bias of the type the kernel
 * expects: float32 for float (and hybrid) convolutions, int32 for int8 and int64 for int16
 * activations, quantized with scale = input scale × weight scale and zero point 0.
 * The graph passed in is not changed.
 */
function withConvBiases(graph: Graph): Graph {
  const needs = graph.ops.some((op) => (op.type === 'CONV_2D' || op.type === 'DEPTHWISE_CONV_2D') && !(op.inputs[2] >= 0));
  if (!needs) return graph;
  const tensors = [...graph.tensors];
  const ops = graph.ops.map((op): Op => {
    if ((op.type !== 'CONV_2D' && op.type !== 'DEPTHWISE_CONV_2D') || op.inputs[2] >= 0) return op;
    const input = graph.tensors[op.inputs[0]];
    const weights = graph.tensors[op.inputs[1]];
    if (!input || !weights || weights.shape.length !== 4) return op;
    const channels = op.type === 'CONV_2D' ? weights.shape[0] : weights.shape[3];
    if (!(channels >= 0)) return op;
    const dtype: DType = input.dtype === 'int8' || input.dtype === 'uint8' ? 'int32' : input.dtype === 'int16' ? 'int64' : 'float32';
    const bias: Tensor = {
      name: `${weights.name}/zero_bias`,
      dtype,
      shape: [channels],
      data: dtype === 'int32' ? new Int32Array(channels) : dtype === 'int64' ? new BigInt64Array(channels) : new Float32Array(channels),
    };
    if (dtype !== 'float32' && input.quant && weights.quant) {
      const ws = weights.quant.scale;
      const scale = Array.from({ length: ws.length }, (_, c) => input.quant!.scale[0] * ws[c]);
      bias.quant = { scale, zeroPoint: scale.map(() => 0) };
      if (scale.length > 1) bias.quant.axis = 0;
    }
    tensors.push(bias);
    return { ...op, inputs: [op.inputs[0], op.inputs[1], tensors.length - 1, ...op.inputs.slice(3)] } as Op;
  });
  return { ...graph, tensors, ops };
}
