/**
 * Builds .tflite bytes directly with the generated flatbuffers code, with no validation at all,
 * so tests can write exactly the broken (or unusual) file they need.
 */

import * as flatbuffers from 'flatbuffers';
import * as fb from '../../../../src/core/formats/tflite/generated/schema_generated';

export interface RawTensor {
  name?: string;
  type?: fb.TensorType;
  shape?: number[];
  shapeSignature?: number[];
  buffer?: number;
  quant?: { scale?: number[]; zeroPoint?: bigint[]; axis?: number; min?: number[]; max?: number[]; customDetails?: boolean };
  /** `true` for a minimal (invalid) sparsity table, or a full layout. */
  sparse?: boolean | RawSparsity;
  isVariable?: boolean;
}

export type RawIndexVector = { int32: number[] } | { uint16: number[] } | { uint8: number[] };

export interface RawSparsity {
  traversalOrder: number[];
  blockMap?: number[];
  levels: ({ dense: number } | { segments: RawIndexVector; indices: RawIndexVector })[];
}

function indexVector(b: flatbuffers.Builder, v: RawIndexVector): [fb.SparseIndexVector, flatbuffers.Offset] {
  if ('int32' in v) return [fb.SparseIndexVector.Int32Vector, fb.Int32Vector.createInt32Vector(b, fb.Int32Vector.createValuesVector(b, v.int32))];
  if ('uint16' in v) return [fb.SparseIndexVector.Uint16Vector, fb.Uint16Vector.createUint16Vector(b, fb.Uint16Vector.createValuesVector(b, v.uint16))];
  return [fb.SparseIndexVector.Uint8Vector, fb.Uint8Vector.createUint8Vector(b, fb.Uint8Vector.createValuesVector(b, v.uint8))];
}

function sparsityTable(b: flatbuffers.Builder, sp: true | RawSparsity): flatbuffers.Offset {
  if (sp === true) {
    const order = fb.SparsityParameters.createTraversalOrderVector(b, [0]);
    fb.SparsityParameters.startSparsityParameters(b);
    fb.SparsityParameters.addTraversalOrder(b, order);
    return fb.SparsityParameters.endSparsityParameters(b);
  }
  const levels = sp.levels.map((l) => {
    if ('dense' in l) {
      fb.DimensionMetadata.startDimensionMetadata(b);
      fb.DimensionMetadata.addFormat(b, fb.DimensionType.DENSE);
      fb.DimensionMetadata.addDenseSize(b, l.dense);
      return fb.DimensionMetadata.endDimensionMetadata(b);
    }
    const [st, so] = indexVector(b, l.segments);
    const [it, io] = indexVector(b, l.indices);
    fb.DimensionMetadata.startDimensionMetadata(b);
    fb.DimensionMetadata.addFormat(b, fb.DimensionType.SPARSE_CSR);
    fb.DimensionMetadata.addArraySegmentsType(b, st);
    fb.DimensionMetadata.addArraySegments(b, so);
    fb.DimensionMetadata.addArrayIndicesType(b, it);
    fb.DimensionMetadata.addArrayIndices(b, io);
    return fb.DimensionMetadata.endDimensionMetadata(b);
  });
  const order = fb.SparsityParameters.createTraversalOrderVector(b, sp.traversalOrder);
  const blockMap = sp.blockMap ? fb.SparsityParameters.createBlockMapVector(b, sp.blockMap) : 0;
  const dims = fb.SparsityParameters.createDimMetadataVector(b, levels);
  fb.SparsityParameters.startSparsityParameters(b);
  fb.SparsityParameters.addTraversalOrder(b, order);
  if (blockMap) fb.SparsityParameters.addBlockMap(b, blockMap);
  fb.SparsityParameters.addDimMetadata(b, dims);
  return fb.SparsityParameters.endSparsityParameters(b);
}

export interface RawOp {
  opcode: number;
  inputs: number[];
  outputs: number[];
  /** Builds the options table; returns [union type, offset]. */
  options?: (b: flatbuffers.Builder) => [fb.BuiltinOptions, flatbuffers.Offset];
  customOptions?: Uint8Array;
  largeCustomOptions?: { offset: bigint; size: bigint };
}

export interface RawSubgraph {
  name?: string;
  tensors: RawTensor[];
  inputs: number[];
  outputs: number[];
  ops: RawOp[];
}

export interface RawModel {
  version?: number;
  identifier?: string;
  codes: { code: number; deprecated?: number; custom?: string; version?: number }[];
  buffers: (Uint8Array | { offset: bigint; size: bigint } | null)[];
  subgraphs: RawSubgraph[];
  description?: string;
  metadata?: { name: string; buffer: number }[];
  signatures?: { key: string; subgraph: number; inputs: [string, number][]; outputs: [string, number][] }[];
}

export function rawModel(spec: RawModel): Uint8Array {
  const b = new flatbuffers.Builder(1024);

  const subgraphs = spec.subgraphs.map((sg) => {
    const tensors = sg.tensors.map((t) => {
      const shape = fb.Tensor.createShapeVector(b, t.shape ?? []);
      const sig = t.shapeSignature ? fb.Tensor.createShapeSignatureVector(b, t.shapeSignature) : 0;
      const name = b.createString(t.name ?? '');
      let quant = 0;
      if (t.quant) {
        const q = t.quant;
        const scale = q.scale ? fb.QuantizationParameters.createScaleVector(b, q.scale) : 0;
        const zp = q.zeroPoint ? fb.QuantizationParameters.createZeroPointVector(b, q.zeroPoint) : 0;
        const min = q.min ? fb.QuantizationParameters.createMinVector(b, q.min) : 0;
        const max = q.max ? fb.QuantizationParameters.createMaxVector(b, q.max) : 0;
        let details = 0;
        if (q.customDetails) {
          const custom = fb.CustomQuantization.createCustomVector(b, [1, 2, 3]);
          details = fb.CustomQuantization.createCustomQuantization(b, custom);
        }
        fb.QuantizationParameters.startQuantizationParameters(b);
        if (min) fb.QuantizationParameters.addMin(b, min);
        if (max) fb.QuantizationParameters.addMax(b, max);
        if (scale) fb.QuantizationParameters.addScale(b, scale);
        if (zp) fb.QuantizationParameters.addZeroPoint(b, zp);
        if (details) {
          fb.QuantizationParameters.addDetailsType(b, fb.QuantizationDetails.CustomQuantization);
          fb.QuantizationParameters.addDetails(b, details);
        }
        if (q.axis !== undefined) fb.QuantizationParameters.addQuantizedDimension(b, q.axis);
        quant = fb.QuantizationParameters.endQuantizationParameters(b);
      }
      const sparsity = t.sparse ? sparsityTable(b, t.sparse) : 0;
      fb.Tensor.startTensor(b);
      fb.Tensor.addShape(b, shape);
      fb.Tensor.addType(b, t.type ?? fb.TensorType.FLOAT32);
      fb.Tensor.addBuffer(b, t.buffer ?? 0);
      fb.Tensor.addName(b, name);
      if (quant) fb.Tensor.addQuantization(b, quant);
      if (t.isVariable) fb.Tensor.addIsVariable(b, true);
      if (sparsity) fb.Tensor.addSparsity(b, sparsity);
      if (sig) fb.Tensor.addShapeSignature(b, sig);
      return fb.Tensor.endTensor(b);
    });
    const ops = sg.ops.map((op) => {
      const [optType, opt] = op.options ? op.options(b) : [fb.BuiltinOptions.NONE, 0];
      const custom = op.customOptions ? fb.Operator.createCustomOptionsVector(b, op.customOptions) : 0;
      const inputs = fb.Operator.createInputsVector(b, op.inputs);
      const outputs = fb.Operator.createOutputsVector(b, op.outputs);
      fb.Operator.startOperator(b);
      fb.Operator.addOpcodeIndex(b, op.opcode);
      fb.Operator.addInputs(b, inputs);
      fb.Operator.addOutputs(b, outputs);
      if (opt) {
        fb.Operator.addBuiltinOptionsType(b, optType);
        fb.Operator.addBuiltinOptions(b, opt);
      }
      if (custom) fb.Operator.addCustomOptions(b, custom);
      if (op.largeCustomOptions) {
        fb.Operator.addLargeCustomOptionsOffset(b, op.largeCustomOptions.offset);
        fb.Operator.addLargeCustomOptionsSize(b, op.largeCustomOptions.size);
      }
      return fb.Operator.endOperator(b);
    });
    const tv = fb.SubGraph.createTensorsVector(b, tensors);
    const iv = fb.SubGraph.createInputsVector(b, sg.inputs);
    const ov = fb.SubGraph.createOutputsVector(b, sg.outputs);
    const opv = fb.SubGraph.createOperatorsVector(b, ops);
    const name = sg.name !== undefined ? b.createString(sg.name) : 0;
    fb.SubGraph.startSubGraph(b);
    fb.SubGraph.addTensors(b, tv);
    fb.SubGraph.addInputs(b, iv);
    fb.SubGraph.addOutputs(b, ov);
    fb.SubGraph.addOperators(b, opv);
    if (name) fb.SubGraph.addName(b, name);
    return fb.SubGraph.endSubGraph(b);
  });

  const codes = spec.codes.map((c) => {
    const custom = c.custom !== undefined ? b.createString(c.custom) : 0;
    fb.OperatorCode.startOperatorCode(b);
    fb.OperatorCode.addDeprecatedBuiltinCode(b, c.deprecated ?? Math.min(c.code, 127));
    if (custom) fb.OperatorCode.addCustomCode(b, custom);
    fb.OperatorCode.addVersion(b, c.version ?? 1);
    fb.OperatorCode.addBuiltinCode(b, c.code);
    return fb.OperatorCode.endOperatorCode(b);
  });

  const buffers = spec.buffers.map((data) => {
    if (data instanceof Uint8Array) {
      const v = fb.Buffer.createDataVector(b, data);
      fb.Buffer.startBuffer(b);
      fb.Buffer.addData(b, v);
      return fb.Buffer.endBuffer(b);
    }
    fb.Buffer.startBuffer(b);
    if (data) {
      fb.Buffer.addOffset(b, data.offset);
      fb.Buffer.addSize(b, data.size);
    }
    return fb.Buffer.endBuffer(b);
  });

  const metadata = (spec.metadata ?? []).map((m) => {
    const name = b.createString(m.name);
    return fb.Metadata.createMetadata(b, name, m.buffer);
  });
  const signatures = (spec.signatures ?? []).map((s) => {
    const maps = (list: [string, number][]) => list.map(([n, t]) => fb.TensorMap.createTensorMap(b, b.createString(n), t));
    const inputs = fb.SignatureDef.createInputsVector(b, maps(s.inputs));
    const outputs = fb.SignatureDef.createOutputsVector(b, maps(s.outputs));
    const key = b.createString(s.key);
    return fb.SignatureDef.createSignatureDef(b, inputs, outputs, key, s.subgraph);
  });

  const codesVec = fb.Model.createOperatorCodesVector(b, codes);
  const sgVec = fb.Model.createSubgraphsVector(b, subgraphs);
  const bufVec = fb.Model.createBuffersVector(b, buffers);
  const desc = spec.description !== undefined ? b.createString(spec.description) : 0;
  const mdVec = metadata.length ? fb.Model.createMetadataVector(b, metadata) : 0;
  const sigVec = signatures.length ? fb.Model.createSignatureDefsVector(b, signatures) : 0;
  fb.Model.startModel(b);
  fb.Model.addVersion(b, spec.version ?? 3);
  fb.Model.addOperatorCodes(b, codesVec);
  fb.Model.addSubgraphs(b, sgVec);
  if (desc) fb.Model.addDescription(b, desc);
  fb.Model.addBuffers(b, bufVec);
  if (mdVec) fb.Model.addMetadata(b, mdVec);
  if (sigVec) fb.Model.addSignatureDefs(b, sigVec);
  b.finish(fb.Model.endModel(b), spec.identifier ?? 'TFL3');
  return b.asUint8Array().slice();
}

/** A minimal valid model: one float32 ADD of an input and a constant. */
export function addModel(overrides: Partial<RawModel> = {}): RawModel {
  return {
    codes: [{ code: fb.BuiltinOperator.ADD }],
    buffers: [null, new Uint8Array(new Float32Array([1, 2]).buffer)],
    subgraphs: [
      {
        name: 'main',
        tensors: [
          { name: 'x', shape: [1, 2] },
          { name: 'b', shape: [2], buffer: 1 },
          { name: 'y', shape: [1, 2] },
        ],
        inputs: [0],
        outputs: [2],
        ops: [{ opcode: 0, inputs: [0, 1], outputs: [2], options: (bb) => [fb.BuiltinOptions.AddOptions, fb.AddOptions.createAddOptions(bb, 0, true)] }],
      },
    ],
    ...overrides,
  };
}
