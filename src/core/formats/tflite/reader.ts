/**
 * .tflite → IR.
 *
 * The file is untrusted: every offset goes through CheckedByteBuffer, every count is checked
 * against what the file could possibly hold before anything loops over it, every index is
 * checked before use, and every failure becomes a ModelFormatError sentence that names the
 * file, the tensor or op, and the value at fault.
 */

import { ModelFormatError } from '../../errors';
import { DTYPE_SIZE_BYTES, allocTensorData, formatShape, tensorDataFromBytes } from '../../ir/graph';
import type {
  BuiltinOp,
  BuiltinOpType,
  FusedActivation,
  Graph,
  Model,
  ModelMetadata,
  Op,
  OpaqueOp,
  OpOptionsMap,
  Padding,
  QuantParams,
  Signature,
  Tensor,
  TensorData,
} from '../../ir/types';
import { CheckedByteBuffer, CorruptFlatbufferError } from './checked-buffer';
import * as fb from './generated/schema_generated';
import { SparseFormatError, densify, type SparseLayout, type SparseLevel } from './sparse';
import {
  ACTIVATION_BY_CODE,
  DTYPE_BY_TENSOR_TYPE,
  IR_OP_BY_CODE,
  PADDING_BY_CODE,
  TFLITE_OPS,
  builtinName,
  optionsName,
  tensorTypeName,
} from './op-table';

/** The schema version this reader understands (TFLite's TFLITE_SCHEMA_VERSION). */
export const TFLITE_SCHEMA_VERSION = 3;
export const TFLITE_FILE_IDENTIFIER = 'TFL3';
/** Largest element count accepted for any tensor (2^28, a 1 GiB float32 tensor). */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;
/** Largest rank accepted for any tensor. */
export const MAX_TENSOR_RANK = 16;

const CUSTOM_CODE = fb.BuiltinOperator.CUSTOM as number;

/** True when the bytes carry the TFLite file identifier. */
export function isTfliteBytes(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && identifierOf(bytes) === TFLITE_FILE_IDENTIFIER;
}

function identifierOf(bytes: Uint8Array): string {
  return String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
}

/**
 * Reads a .tflite file into the IR. Throws ModelFormatError (naming `fileName`) when the file is
 * not a TFLite model, is truncated or corrupt, or uses something QuantLab cannot represent.
 */
export function readTflite(bytes: Uint8Array, fileName = 'model.tflite'): Model {
  const reader = new TfliteReader(bytes, fileName);
  try {
    return reader.read();
  } catch (e) {
    if (e instanceof ModelFormatError) throw e;
    const detail = e instanceof CorruptFlatbufferError ? e.message : `reading it failed (${String(e)})`;
    const where = reader.where ? ` while reading ${reader.where}` : '';
    throw new ModelFormatError(`${fileName} is corrupt: ${detail}${where}.`, { cause: e });
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function quote(s: string): string {
  return `'${s}'`;
}

class TfliteReader {
  /** What is being read, for messages about corrupt structure ("subgraph 0 tensor 12"). */
  where = '';
  private readonly bb: CheckedByteBuffer;
  /** Element visits left; bounds the work a hostile file with shared sub-tables can cause. */
  private budget: number;
  private model!: fb.Model;
  private bufferCount = 0;
  /** Bytes copied into tensors so far; tensors sharing one buffer must not multiply memory. */
  private copiedBytes = 0;
  /** Per subgraph: file tensor index → IR tensor index (-1 when dropped), once DENSIFY is folded. */
  private readonly tensorRemap: number[][] = [];
  /** How many sparse constants were densified (reported in `producer`). */
  private densified = 0;
  private readonly bufferCache = new Map<number, Uint8Array | undefined>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fileName: string,
  ) {
    this.bb = new CheckedByteBuffer(bytes);
    this.budget = bytes.length + 65_536;
  }

  fail(message: string): never {
    throw new ModelFormatError(`${this.fileName}: ${message}`);
  }

  /** Checks a vector length read from the file before anything iterates over it. */
  private count(length: number, elementSizeBytes: number, what: string): number {
    if (!Number.isInteger(length) || length < 0 || length * elementSizeBytes > this.bytes.length) {
      throw new CorruptFlatbufferError(
        length < 0 ? `${what} has a negative length (${length})` : `${what} claims ${length} entries, more than the file could hold`,
      );
    }
    this.budget -= length;
    if (this.budget < 0) {
      throw new CorruptFlatbufferError('its tables reference the same data over and over');
    }
    return length;
  }

  /** Reads a vector of numbers through a generated element accessor, length already checked. */
  private numbers(length: number, get: (i: number) => number | null, what: string, elementSizeBytes = 4): number[] {
    const n = this.count(length, elementSizeBytes, what);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = get(i) ?? 0;
    return out;
  }

  /** Copies a byte vector whose bounds have been checked through its first and last element. */
  private byteVector(length: number, at: (i: number) => number | null, array: () => Uint8Array | null, what: string): Uint8Array | undefined {
    const n = this.count(length, 1, what);
    if (n === 0) return undefined;
    at(0);
    at(n - 1);
    const view = array();
    if (!view || view.length !== n) throw new CorruptFlatbufferError(`${what} could not be located`);
    return view.slice();
  }

  /** Bytes stored outside the flatbuffer (models over 2 GB): offset from the file start. */
  private external(offset: bigint, size: bigint, what: string): Uint8Array {
    const end = offset + size;
    if (end > BigInt(this.bytes.length)) {
      this.fail(`${what} lies at bytes ${offset}–${end} but the file has only ${this.bytes.length} bytes; it is truncated.`);
    }
    return this.bytes.slice(Number(offset), Number(end));
  }

  read(): Model {
    const { bytes } = this;
    if (bytes.length < 8) {
      this.fail(`the file is ${plural(bytes.length, 'byte')} long, too short to be a TensorFlow Lite model.`);
    }
    const ident = identifierOf(bytes);
    if (ident !== TFLITE_FILE_IDENTIFIER) {
      this.fail(
        `the file identifier is ${JSON.stringify(ident)}, not "${TFLITE_FILE_IDENTIFIER}": this is not a TensorFlow Lite model.`,
      );
    }
    this.where = 'the model header';
    const model = fb.Model.getRootAsModel(this.bb);
    this.model = model;
    const version = model.version();
    if (version !== TFLITE_SCHEMA_VERSION) {
      this.fail(`the model has schema version ${version}; QuantLab reads version ${TFLITE_SCHEMA_VERSION}.`);
    }

    this.where = 'the buffer list';
    this.bufferCount = this.count(model.buffersLength(), 4, 'the buffer list');

    this.where = 'the operator codes';
    const nCodes = this.count(model.operatorCodesLength(), 4, 'the operator code list');
    const codes: { code: number; custom: string | null; version: number }[] = [];
    for (let i = 0; i < nCodes; i++) {
      this.where = `operator code ${i}`;
      const oc = model.operatorCodes(i);
      if (!oc) throw new CorruptFlatbufferError('an operator code is missing');
      // Files written before codes outgrew a byte only set the deprecated field; newer ones set
      // both (deprecated = min(code, 127)). TFLite takes the larger of the two.
      const code = Math.max(oc.deprecatedBuiltinCode(), oc.builtinCode());
      codes.push({ code, custom: oc.customCode(), version: oc.version() });
    }

    this.where = 'the subgraph list';
    const nSubgraphs = this.count(model.subgraphsLength(), 4, 'the subgraph list');
    if (nSubgraphs === 0) this.fail('the model has no subgraphs.');
    const subgraphs: Graph[] = [];
    for (let s = 0; s < nSubgraphs; s++) subgraphs.push(this.readSubgraph(s, codes));

    this.where = 'the model description';
    const description = model.description() ?? undefined;

    const metadata = this.readMetadata();
    const signatures = this.readSignatures(subgraphs);
    this.where = '';

    const minRuntime = metadata.find((m) => m.name === 'min_runtime_version');
    const facts: string[] = [];
    if (description) facts.push(description);
    if (this.densified) facts.push(`${plural(this.densified, 'sparse constant')} densified`);
    if (minRuntime) {
      const text = new TextDecoder().decode(minRuntime.data).replace(/\0+$/, '');
      if (text) facts.push(`min runtime ${text}`);
    }

    const result: Model = { format: 'tflite', subgraphs };
    if (description !== undefined) result.description = description;
    if (facts.length) result.producer = facts.join('; ');
    if (metadata.length) result.metadata = metadata;
    if (signatures.length) result.signatures = signatures;
    return result;
  }

  /** Contents of buffer `index`, or undefined when it is empty. */
  private bufferData(index: number, what: string): Uint8Array | undefined {
    if (this.bufferCache.has(index)) return this.bufferCache.get(index);
    const saved = this.where;
    this.where = `buffer ${index}`;
    const b = this.model.buffers(index);
    if (!b) throw new CorruptFlatbufferError(`buffer ${index} is missing`);
    let data: Uint8Array | undefined;
    const offset = b.offset();
    if (offset > 1n) {
      data = this.external(offset, b.size(), `the data of buffer ${index} (${what})`);
    } else {
      data = this.byteVector(b.dataLength(), (i) => b.data(i), () => b.dataArray(), `buffer ${index}`);
    }
    this.bufferCache.set(index, data);
    this.where = saved;
    return data;
  }

  private readSubgraph(s: number, codes: { code: number; custom: string | null; version: number }[]): Graph {
    this.where = `subgraph ${s}`;
    const sg = this.model.subgraphs(s);
    if (!sg) throw new CorruptFlatbufferError(`subgraph ${s} is missing`);
    const name = sg.name() ?? (s === 0 ? 'main' : `subgraph_${s}`);
    const inGraph = s === 0 ? '' : ` in subgraph ${quote(name)}`;

    const nTensors = this.count(sg.tensorsLength(), 4, `the tensor list of subgraph ${s}`);
    const tensors: Tensor[] = [];
    for (let i = 0; i < nTensors; i++) tensors.push(this.readTensor(sg, s, i, inGraph));

    const checkIndices = (list: number[], what: string): number[] => {
      for (const t of list) {
        if (t < 0 || t >= nTensors) {
          this.fail(`the ${what} of subgraph ${quote(name)} include tensor ${t}, but the subgraph has only ${plural(nTensors, 'tensor')}.`);
        }
      }
      return list;
    };
    this.where = `the inputs of subgraph ${s}`;
    const inputs = checkIndices(this.numbers(sg.inputsLength(), (i) => sg.inputs(i), 'the input list'), 'inputs');
    this.where = `the outputs of subgraph ${s}`;
    const outputs = checkIndices(this.numbers(sg.outputsLength(), (i) => sg.outputs(i), 'the output list'), 'outputs');

    const nOps = this.count(sg.operatorsLength(), 4, `the operator list of subgraph ${s}`);
    const ops: Op[] = [];
    for (let i = 0; i < nOps; i++) ops.push(this.readOp(sg, s, i, codes, tensors, inGraph));

    return this.foldDensify(s, { name, tensors, ops, inputs, outputs });
  }

  /**
   * The reader densifies sparse constants, so the DENSIFY ops reading them have nothing left to
   * do: each hands its (now dense) input to its output and disappears, and the sparse-side
   * tensors are dropped. The tensor renumbering is kept for the signatures.
   */
  private foldDensify(s: number, graph: Graph): Graph {
    const identity = graph.tensors.map((_, i) => i);
    const isDensify = (op: Op) => op.type === 'UNKNOWN_BUILTIN' && op.builtinCode === fb.BuiltinOperator.DENSIFY;
    const folds = graph.ops.filter((op) => isDensify(op) && op.inputs.length === 1 && op.outputs.length === 1 && graph.tensors[op.inputs[0]]?.data);
    if (folds.length === 0) {
      this.tensorRemap[s] = identity;
      return graph;
    }
    const outputs = new Set(graph.outputs);
    const folded = new Set<Op>();
    for (const op of folds) {
      const src = graph.tensors[op.inputs[0]];
      const dst = graph.tensors[op.outputs[0]];
      if (outputs.has(op.outputs[0]) || dst.data || src.dtype !== dst.dtype) continue;
      dst.data = src.data;
      dst.shape = [...src.shape];
      folded.add(op);
    }
    const ops = graph.ops.filter((op) => !folded.has(op));
    const used = new Array<boolean>(graph.tensors.length).fill(false);
    for (const t of [...graph.inputs, ...graph.outputs]) used[t] = true;
    for (const op of ops) for (const t of [...op.inputs, ...op.outputs]) if (t >= 0) used[t] = true;
    // Drop only what folding orphaned: the sparse inputs of folded ops.
    const droppable = new Set<number>();
    for (const op of folded) if (!used[op.inputs[0]]) droppable.add(op.inputs[0]);
    const remap = new Array<number>(graph.tensors.length).fill(-1);
    const tensors: Tensor[] = [];
    graph.tensors.forEach((t, i) => {
      if (!droppable.has(i)) {
        remap[i] = tensors.length;
        tensors.push(t);
      }
    });
    this.tensorRemap[s] = remap;
    const map = (t: number) => (t < 0 ? t : remap[t]);
    return {
      name: graph.name,
      tensors,
      ops: ops.map((op) => ({ ...op, inputs: op.inputs.map(map), outputs: op.outputs.map(map) }) as Op),
      inputs: graph.inputs.map(map),
      outputs: graph.outputs.map(map),
    };
  }

  private readTensor(sg: fb.SubGraph, s: number, i: number, inGraph: string): Tensor {
    this.where = `subgraph ${s} tensor ${i}`;
    const t = sg.tensors(i);
    if (!t) throw new CorruptFlatbufferError(`tensor ${i} is missing`);
    const name = t.name() ?? '';
    const label = `tensor ${quote(name)} (index ${i})${inGraph}`;
    this.where = `${label}`;

    const type = t.type();
    const dtype = DTYPE_BY_TENSOR_TYPE.get(type);
    if (!dtype) this.fail(`${label} has type '${tensorTypeName(type)}', which QuantLab does not support.`);

    const rawShape = this.numbers(t.shapeLength(), (j) => t.shape(j), 'the shape');
    if (rawShape.length > MAX_TENSOR_RANK) {
      this.fail(`${label} has ${rawShape.length} dimensions; QuantLab accepts at most ${MAX_TENSOR_RANK}.`);
    }
    const signature =
      t.shapeSignatureLength() > 0 ? this.numbers(t.shapeSignatureLength(), (j) => t.shapeSignature(j), 'the shape signature') : undefined;
    if (signature && signature.length !== rawShape.length) {
      this.fail(`${label} has shape ${formatShape(rawShape)} but shape signature ${formatShape(signature)} of a different rank.`);
    }
    const shape = rawShape.map((d, k) => (signature && signature[k] === -1 ? -1 : d));
    for (const d of [...rawShape, ...(signature ?? [])]) {
      if (d < -1) this.fail(`${label} has dimension ${d} in its shape ${formatShape(rawShape)}; dimensions must be at least 0, or -1 for unknown.`);
    }
    let elements = 1;
    for (const d of shape) if (d > 0) elements *= d;
    if (elements > MAX_TENSOR_ELEMENTS) {
      this.fail(`${label} has shape ${formatShape(shape)} = ${elements} elements, more than QuantLab accepts (2^28).`);
    }

    const sparsity = t.sparsity();

    const bufferIndex = t.buffer();
    if (bufferIndex >= this.bufferCount) {
      this.fail(`${label} refers to buffer ${bufferIndex}, but the file has only ${plural(this.bufferCount, 'buffer')}.`);
    }
    const tensor: Tensor = { name, dtype, shape };
    if (bufferIndex !== 0) {
      const bytes = this.bufferData(bufferIndex, `tensor ${quote(name)}`);
      if (bytes) {
        if (shape.some((d) => d < 0)) {
          this.fail(`${label} holds constant data in buffer ${bufferIndex} but its shape ${formatShape(shape)} has unknown dimensions.`);
        }
        const size = DTYPE_SIZE_BYTES[dtype];
        if (sparsity) {
          tensor.data = this.densifyTensor(sparsity, shape, dtype, bytes, label);
          this.densified++;
        } else if (bytes.length !== elements * size) {
          this.fail(
            `${label} has shape ${formatShape(shape)} = ${plural(elements, `${dtype} value`)} but its buffer ${bufferIndex} holds ${plural(bytes.length, 'byte')}.`,
          );
        } else {
          this.copiedBytes += bytes.length;
          if (this.copiedBytes > 2 * this.bytes.length + 2 ** 20) {
            this.fail(`${label} reuses buffer ${bufferIndex}; so many tensors share buffers that the model would need ${this.copiedBytes} bytes of constants from a ${this.bytes.length}-byte file.`);
          }
          tensor.data = tensorDataFromBytes(dtype, bytes);
        }
      }
    }

    if (sparsity && !tensor.data) this.fail(`${label} is marked sparse but has no data.`);

    const quant = this.readQuant(t, shape, label);
    if (quant) tensor.quant = quant;
    if (t.isVariable()) tensor.isVariable = true;
    return tensor;
  }

  /** Dense data of a sparse constant (see sparse.ts), every index checked. */
  private densifyTensor(sp: fb.SparsityParameters, shape: number[], dtype: Tensor['dtype'], bytes: Uint8Array, label: string): TensorData {
    const size = DTYPE_SIZE_BYTES[dtype];
    if (bytes.length % size !== 0) this.fail(`${label} stores ${plural(bytes.length, 'byte')} of sparse ${dtype} values, not a whole number of values.`);
    const traversalOrder = this.numbers(sp.traversalOrderLength(), (j) => sp.traversalOrder(j), 'the traversal order');
    const blockMap = this.numbers(sp.blockMapLength(), (j) => sp.blockMap(j), 'the block map');
    const nLevels = this.count(sp.dimMetadataLength(), 4, 'the sparse dimension list');
    let indexBytes = 0;
    const levels: SparseLevel[] = [];
    const indexVector = (type: fb.SparseIndexVector, get: <T>(obj: T) => T | null, what: string): number[] | undefined => {
      switch (type) {
        case fb.SparseIndexVector.Int32Vector: {
          const v = get(new fb.Int32Vector());
          if (!v) return undefined;
          indexBytes += 4 * v.valuesLength();
          return this.numbers(v.valuesLength(), (j) => v.values(j), what);
        }
        case fb.SparseIndexVector.Uint16Vector: {
          const v = get(new fb.Uint16Vector());
          if (!v) return undefined;
          indexBytes += 2 * v.valuesLength();
          return this.numbers(v.valuesLength(), (j) => v.values(j), what, 2);
        }
        case fb.SparseIndexVector.Uint8Vector: {
          const v = get(new fb.Uint8Vector());
          if (!v) return undefined;
          indexBytes += v.valuesLength();
          return this.numbers(v.valuesLength(), (j) => v.values(j), what, 1);
        }
        default:
          return undefined;
      }
    };
    for (let l = 0; l < nLevels; l++) {
      const dm = sp.dimMetadata(l);
      if (!dm) throw new CorruptFlatbufferError(`sparse level ${l} is missing`);
      const format = dm.format();
      if (format !== fb.DimensionType.DENSE && format !== fb.DimensionType.SPARSE_CSR) {
        this.fail(`${label} has sparse level ${l} of unknown format ${format}.`);
      }
      const level: SparseLevel = { format: format === fb.DimensionType.DENSE ? 'DENSE' : 'SPARSE_CSR', denseSize: dm.denseSize() };
      if (level.format === 'SPARSE_CSR') {
        level.segments = indexVector(dm.arraySegmentsType(), (obj) => dm.arraySegments(obj), 'the sparse segments');
        level.indices = indexVector(dm.arrayIndicesType(), (obj) => dm.arrayIndices(obj), 'the sparse indices');
      }
      levels.push(level);
    }
    const layout: SparseLayout = { traversalOrder, blockMap, levels };
    // A dense copy may be larger than the file, but not absurdly: 64× what is stored (≥ 98% zeros).
    const maxElements = Math.min(MAX_TENSOR_ELEMENTS, Math.floor((64 * (bytes.length + indexBytes) + 2 ** 20) / size));
    try {
      const values = tensorDataFromBytes(dtype, bytes);
      const dense = densify(layout, shape, values as Int32Array, (n) => allocTensorData(dtype, n) as Int32Array, maxElements);
      this.copiedBytes += dense.byteLength;
      return dense as TensorData;
    } catch (e) {
      if (e instanceof SparseFormatError) this.fail(`${label} has invalid sparse storage: ${e.message}.`);
      throw e;
    }
  }

  private readQuant(t: fb.Tensor, shape: number[], label: string): QuantParams | undefined {
    const q = t.quantization();
    if (!q) return undefined;
    const scale = this.numbers(q.scaleLength(), (j) => q.scale(j), 'the quantization scales');
    if (scale.length === 0) return undefined;
    if (q.detailsType() !== fb.QuantizationDetails.NONE) {
      this.fail(`${label} uses custom quantization details, which QuantLab does not support.`);
    }
    const nZero = this.count(q.zeroPointLength(), 8, 'the zero points');
    if (nZero !== scale.length) {
      this.fail(`${label} has ${plural(scale.length, 'quantization scale')} but ${plural(nZero, 'zero point')}; they must match.`);
    }
    const zeroPoint: number[] = [];
    for (let j = 0; j < nZero; j++) {
      const z = q.zeroPoint(j) ?? 0n;
      if (z < -(2n ** 31n) || z >= 2n ** 31n) this.fail(`${label} has zero point ${z}, outside the 32-bit range.`);
      zeroPoint.push(Number(z));
    }
    for (const sc of scale) {
      if (!Number.isFinite(sc) || sc < 0) this.fail(`${label} has quantization scale ${sc}; scales must be finite and not negative.`);
    }
    const params: QuantParams = { scale, zeroPoint };
    const axis = q.quantizedDimension();
    if (scale.length > 1 || axis !== 0) {
      if (axis < 0 || axis >= shape.length) {
        this.fail(`${label} is quantized along dimension ${axis}, but its shape ${formatShape(shape)} has ${plural(shape.length, 'dimension')}.`);
      }
      if (scale.length > 1 && shape[axis] >= 0 && shape[axis] !== scale.length) {
        this.fail(
          `${label} has ${scale.length} per-channel scales for dimension ${axis} of shape ${formatShape(shape)}, which has size ${shape[axis]}.`,
        );
      }
      params.axis = axis;
    }
    const min = this.numbers(q.minLength(), (j) => q.min(j), 'the quantization minima');
    const max = this.numbers(q.maxLength(), (j) => q.max(j), 'the quantization maxima');
    if (min.length) params.min = min;
    if (max.length) params.max = max;
    return params;
  }

  private readOp(
    sg: fb.SubGraph,
    s: number,
    i: number,
    codes: { code: number; custom: string | null; version: number }[],
    tensors: Tensor[],
    inGraph: string,
  ): Op {
    this.where = `subgraph ${s} op ${i}`;
    const op = sg.operators(i);
    if (!op) throw new CorruptFlatbufferError(`op ${i} is missing`);
    const codeIndex = op.opcodeIndex();
    if (codeIndex >= codes.length) {
      this.fail(`op ${i}${inGraph} refers to operator code ${codeIndex}, but the file lists only ${plural(codes.length, 'operator code')}.`);
    }
    const { code, custom, version } = codes[codeIndex];
    const typeName = code === CUSTOM_CODE ? `CUSTOM ${custom ?? ''}`.trim() : builtinName(code);
    const inputs = this.numbers(op.inputsLength(), (j) => op.inputs(j), 'the input list of the op');
    const outputs = this.numbers(op.outputsLength(), (j) => op.outputs(j), 'the output list of the op');
    const firstOut = outputs[0] !== undefined && outputs[0] >= 0 && outputs[0] < tensors.length ? tensors[outputs[0]].name : '';
    const label = `op ${i} (${typeName}${firstOut ? ` ${quote(firstOut)}` : ''})${inGraph}`;
    this.where = label;
    inputs.forEach((t, j) => {
      if (t < -1 || t >= tensors.length) {
        this.fail(`${label} input ${j} is tensor ${t}, but the subgraph has only ${plural(tensors.length, 'tensor')}.`);
      }
    });
    outputs.forEach((t, j) => {
      if (t < 0 || t >= tensors.length) {
        this.fail(`${label} output ${j} is tensor ${t}, but the subgraph has only ${plural(tensors.length, 'tensor')}.`);
      }
    });

    let customOptions: Uint8Array | undefined;
    const largeOffset = op.largeCustomOptionsOffset();
    if (largeOffset > 1n) {
      customOptions = this.external(largeOffset, op.largeCustomOptionsSize(), `the custom options of ${label}`);
    } else {
      customOptions = this.byteVector(op.customOptionsLength(), (j) => op.customOptions(j), () => op.customOptionsArray(), 'the custom options');
    }

    if (code === CUSTOM_CODE) {
      if (custom === null) this.fail(`${label} is a custom op without a custom code.`);
      const result: OpaqueOp = { type: 'CUSTOM', code: custom, inputs, outputs, version };
      if (customOptions) result.customOptions = customOptions;
      return result;
    }
    const irType = IR_OP_BY_CODE.get(code);
    if (!irType) {
      const result: OpaqueOp = { type: 'UNKNOWN_BUILTIN', code: builtinName(code), builtinCode: code, inputs, outputs, version };
      if (customOptions) result.customOptions = customOptions;
      return result;
    }
    const options = this.readOptions(op, irType, label);
    return { type: irType, options, inputs, outputs, version } as BuiltinOp;
  }

  private padding(value: number, label: string): Padding {
    const p = PADDING_BY_CODE[value];
    if (!p) this.fail(`${label} has padding code ${value}; expected 0 (SAME) or 1 (VALID).`);
    return p;
  }

  private activation(value: number, label: string): FusedActivation {
    const a = ACTIVATION_BY_CODE[value];
    if (!a) this.fail(`${label} has fused activation code ${value}; expected 0–5.`);
    return a;
  }

  private positive(value: number, field: string, label: string): number {
    if (!(value >= 1)) this.fail(`${label} has ${field} ${value}; it must be at least 1.`);
    return value;
  }

  /**
   * The options table of the op, or null when the file has none (then the schema defaults
   * apply, as they would for an empty table). A table of the wrong kind is an error.
   */
  private optionsTable<T>(op: fb.Operator, type: BuiltinOpType, make: () => T, label: string): T | null {
    const expected = TFLITE_OPS[type].options;
    const actual = op.builtinOptionsType();
    if (actual === fb.BuiltinOptions.NONE) return null;
    if (actual !== expected) {
      this.fail(`${label} carries ${optionsName(actual)} where ${optionsName(expected)} belong.`);
    }
    const table = op.builtinOptions(make()) as T | null;
    return table;
  }

  private readOptions(op: fb.Operator, type: BuiltinOpType, label: string): OpOptionsMap[BuiltinOpType] {
    const requireTable = <T>(t: T | null): T => {
      if (t === null) this.fail(`${label} has no ${optionsName(TFLITE_OPS[type].options)}.`);
      return t;
    };
    switch (type) {
      case 'CONV_2D': {
        const o = requireTable(this.optionsTable(op, type, () => new fb.Conv2DOptions(), label));
        const r: OpOptionsMap['CONV_2D'] = {
          padding: this.padding(o.padding(), label),
          strideW: this.positive(o.strideW(), 'stride_w', label),
          strideH: this.positive(o.strideH(), 'stride_h', label),
          dilationWFactor: this.positive(o.dilationWFactor(), 'dilation_w_factor', label),
          dilationHFactor: this.positive(o.dilationHFactor(), 'dilation_h_factor', label),
          fusedActivationFunction: this.activation(o.fusedActivationFunction(), label),
        };
        return r;
      }
      case 'DEPTHWISE_CONV_2D': {
        const o = requireTable(this.optionsTable(op, type, () => new fb.DepthwiseConv2DOptions(), label));
        const depthMultiplier = o.depthMultiplier();
        if (depthMultiplier < 0) this.fail(`${label} has depth_multiplier ${depthMultiplier}; it cannot be negative.`);
        const r: OpOptionsMap['DEPTHWISE_CONV_2D'] = {
          padding: this.padding(o.padding(), label),
          strideW: this.positive(o.strideW(), 'stride_w', label),
          strideH: this.positive(o.strideH(), 'stride_h', label),
          depthMultiplier,
          dilationWFactor: this.positive(o.dilationWFactor(), 'dilation_w_factor', label),
          dilationHFactor: this.positive(o.dilationHFactor(), 'dilation_h_factor', label),
          fusedActivationFunction: this.activation(o.fusedActivationFunction(), label),
        };
        return r;
      }
      case 'FULLY_CONNECTED': {
        const o = this.optionsTable(op, type, () => new fb.FullyConnectedOptions(), label);
        const wf = o?.weightsFormat() ?? fb.FullyConnectedOptionsWeightsFormat.DEFAULT;
        if (wf !== fb.FullyConnectedOptionsWeightsFormat.DEFAULT && wf !== fb.FullyConnectedOptionsWeightsFormat.SHUFFLED4x16INT8) {
          this.fail(`${label} has weights format code ${wf}; expected 0 (DEFAULT) or 1 (SHUFFLED4x16INT8).`);
        }
        const r: OpOptionsMap['FULLY_CONNECTED'] = {
          fusedActivationFunction: this.activation(o?.fusedActivationFunction() ?? 0, label),
          keepNumDims: o?.keepNumDims() ?? false,
          weightsFormat: wf === fb.FullyConnectedOptionsWeightsFormat.DEFAULT ? 'DEFAULT' : 'SHUFFLED4x16INT8',
          asymmetricQuantizeInputs: o?.asymmetricQuantizeInputs() ?? false,
        };
        return r;
      }
      case 'TRANSPOSE_CONV': {
        const o = requireTable(this.optionsTable(op, type, () => new fb.TransposeConvOptions(), label));
        const r: OpOptionsMap['TRANSPOSE_CONV'] = {
          padding: this.padding(o.padding(), label),
          strideW: this.positive(o.strideW(), 'stride_w', label),
          strideH: this.positive(o.strideH(), 'stride_h', label),
          fusedActivationFunction: this.activation(o.fusedActivationFunction(), label),
        };
        return r;
      }
      case 'ADD': {
        const o = this.optionsTable(op, type, () => new fb.AddOptions(), label);
        const r: OpOptionsMap['ADD'] = {
          fusedActivationFunction: this.activation(o?.fusedActivationFunction() ?? 0, label),
          potScaleInt16: o?.potScaleInt16() ?? true,
        };
        return r;
      }
      case 'SUB': {
        const o = this.optionsTable(op, type, () => new fb.SubOptions(), label);
        const r: OpOptionsMap['SUB'] = {
          fusedActivationFunction: this.activation(o?.fusedActivationFunction() ?? 0, label),
          potScaleInt16: o?.potScaleInt16() ?? true,
        };
        return r;
      }
      case 'MUL': {
        const o = this.optionsTable(op, type, () => new fb.MulOptions(), label);
        const r: OpOptionsMap['MUL'] = { fusedActivationFunction: this.activation(o?.fusedActivationFunction() ?? 0, label) };
        return r;
      }
      case 'AVERAGE_POOL_2D':
      case 'MAX_POOL_2D': {
        const o = requireTable(this.optionsTable(op, type, () => new fb.Pool2DOptions(), label));
        const r: OpOptionsMap['MAX_POOL_2D'] = {
          padding: this.padding(o.padding(), label),
          strideW: this.positive(o.strideW(), 'stride_w', label),
          strideH: this.positive(o.strideH(), 'stride_h', label),
          filterWidth: this.positive(o.filterWidth(), 'filter_width', label),
          filterHeight: this.positive(o.filterHeight(), 'filter_height', label),
          fusedActivationFunction: this.activation(o.fusedActivationFunction(), label),
        };
        return r;
      }
      case 'MEAN': {
        const o = this.optionsTable(op, type, () => new fb.ReducerOptions(), label);
        const r: OpOptionsMap['MEAN'] = { keepDims: o?.keepDims() ?? false };
        return r;
      }
      case 'RESHAPE': {
        const o = this.optionsTable(op, type, () => new fb.ReshapeOptions(), label);
        const newShape = o ? this.numbers(o.newShapeLength(), (j) => o.newShape(j), 'the new shape') : [];
        if (newShape.length > MAX_TENSOR_RANK) this.fail(`${label} has a new_shape of ${newShape.length} dimensions.`);
        const r: OpOptionsMap['RESHAPE'] = { newShape };
        return r;
      }
      case 'SQUEEZE': {
        const o = this.optionsTable(op, type, () => new fb.SqueezeOptions(), label);
        const squeezeDims = o ? this.numbers(o.squeezeDimsLength(), (j) => o.squeezeDims(j), 'the squeeze dims') : [];
        if (squeezeDims.length > MAX_TENSOR_RANK) this.fail(`${label} squeezes ${squeezeDims.length} dimensions.`);
        const r: OpOptionsMap['SQUEEZE'] = { squeezeDims };
        return r;
      }
      case 'CONCATENATION': {
        const o = this.optionsTable(op, type, () => new fb.ConcatenationOptions(), label);
        const r: OpOptionsMap['CONCATENATION'] = {
          axis: o?.axis() ?? 0,
          fusedActivationFunction: this.activation(o?.fusedActivationFunction() ?? 0, label),
        };
        return r;
      }
      case 'LEAKY_RELU': {
        const o = this.optionsTable(op, type, () => new fb.LeakyReluOptions(), label);
        const r: OpOptionsMap['LEAKY_RELU'] = { alpha: o?.alpha() ?? 0 };
        return r;
      }
      case 'SOFTMAX': {
        const o = this.optionsTable(op, type, () => new fb.SoftmaxOptions(), label);
        const r: OpOptionsMap['SOFTMAX'] = { beta: o?.beta() ?? 0 };
        return r;
      }
      case 'RESIZE_BILINEAR': {
        const o = this.optionsTable(op, type, () => new fb.ResizeBilinearOptions(), label);
        const r: OpOptionsMap['RESIZE_BILINEAR'] = {
          alignCorners: o?.alignCorners() ?? false,
          halfPixelCenters: o?.halfPixelCenters() ?? false,
        };
        return r;
      }
      case 'RESIZE_NEAREST_NEIGHBOR': {
        const o = this.optionsTable(op, type, () => new fb.ResizeNearestNeighborOptions(), label);
        const r: OpOptionsMap['RESIZE_NEAREST_NEIGHBOR'] = {
          alignCorners: o?.alignCorners() ?? false,
          halfPixelCenters: o?.halfPixelCenters() ?? false,
        };
        return r;
      }
      case 'DEPTH_TO_SPACE': {
        const o = requireTable(this.optionsTable(op, type, () => new fb.DepthToSpaceOptions(), label));
        const r: OpOptionsMap['DEPTH_TO_SPACE'] = { blockSize: this.positive(o.blockSize(), 'block_size', label) };
        return r;
      }
      case 'SPACE_TO_DEPTH': {
        const o = requireTable(this.optionsTable(op, type, () => new fb.SpaceToDepthOptions(), label));
        const r: OpOptionsMap['SPACE_TO_DEPTH'] = { blockSize: this.positive(o.blockSize(), 'block_size', label) };
        return r;
      }
      case 'PAD':
      case 'RELU':
      case 'RELU6':
      case 'PRELU':
      case 'HARD_SWISH':
      case 'LOGISTIC':
      case 'TANH':
      case 'DEQUANTIZE':
      case 'QUANTIZE':
        // No options: whatever table the file carries is not read (TFLite ignores it too).
        return {};
    }
  }

  private readMetadata(): ModelMetadata[] {
    const model = this.model;
    this.where = 'the metadata list';
    const n = this.count(model.metadataLength(), 4, 'the metadata list');
    const result: ModelMetadata[] = [];
    for (let i = 0; i < n; i++) {
      this.where = `metadata entry ${i}`;
      const m = model.metadata(i);
      if (!m) throw new CorruptFlatbufferError(`metadata entry ${i} is missing`);
      const name = m.name() ?? '';
      const buffer = m.buffer();
      if (buffer >= this.bufferCount) {
        this.fail(`metadata ${quote(name)} refers to buffer ${buffer}, but the file has only ${plural(this.bufferCount, 'buffer')}.`);
      }
      const data = this.bufferData(buffer, `metadata ${quote(name)}`);
      result.push({ name, data: data ? data.slice() : new Uint8Array(0) });
    }
    return result;
  }

  private readSignatures(subgraphs: Graph[]): Signature[] {
    const model = this.model;
    this.where = 'the signature list';
    const n = this.count(model.signatureDefsLength(), 4, 'the signature list');
    const result: Signature[] = [];
    for (let i = 0; i < n; i++) {
      this.where = `signature ${i}`;
      const sd = model.signatureDefs(i);
      if (!sd) throw new CorruptFlatbufferError(`signature ${i} is missing`);
      const key = sd.signatureKey() ?? '';
      const subgraph = sd.subgraphIndex();
      if (subgraph >= subgraphs.length) {
        this.fail(`signature ${quote(key)} refers to subgraph ${subgraph}, but the model has only ${plural(subgraphs.length, 'subgraph')}.`);
      }
      const nTensors = subgraphs[subgraph].tensors.length;
      const maps = (length: number, get: (j: number) => fb.TensorMap | null, what: string) => {
        const count = this.count(length, 4, `the ${what} of signature ${quote(key)}`);
        const out: { name: string; tensor: number }[] = [];
        for (let j = 0; j < count; j++) {
          const tm = get(j);
          if (!tm) throw new CorruptFlatbufferError(`an entry of signature ${quote(key)} is missing`);
          const name = tm.name() ?? '';
          const fileIndex = tm.tensorIndex();
          const remap = this.tensorRemap[subgraph];
          const tensor = remap && fileIndex < remap.length ? remap[fileIndex] : fileIndex;
          if (tensor >= nTensors || tensor < 0) {
            this.fail(`signature ${quote(key)} maps ${what.slice(0, -1)} ${quote(name)} to tensor ${fileIndex}, but its subgraph has only ${plural(nTensors, 'tensor')}.`);
          }
          out.push({ name, tensor });
        }
        return out;
      };
      result.push({
        key,
        subgraph,
        inputs: maps(sd.inputsLength(), (j) => sd.inputs(j), 'inputs'),
        outputs: maps(sd.outputsLength(), (j) => sd.outputs(j), 'outputs'),
      });
    }
    return result;
  }
}

