/**
 * A small ONNX writer for the benchmark's twin models, on the `onnx-proto` protobuf classes.
 * NCHW, opset 13, float32 / int8 / uint8 / int32 initializers as raw little-endian bytes.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type OnnxType = 'float32' | 'int8' | 'uint8' | 'int32' | 'int64';

const TYPE_CODE: Record<OnnxType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7 };

export type OnnxAttr = number | number[] | string | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, OnnxAttr>;
  domain?: string;
  name?: string;
}

export interface OnnxInit {
  name: string;
  type: OnnxType;
  dims: number[];
  data: Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;
}

export interface OnnxGraphSpec {
  name: string;
  inputs: { name: string; type: OnnxType; dims: number[] }[];
  outputs: { name: string; type: OnnxType; dims: number[] }[];
  nodes: OnnxNode[];
  initializers: OnnxInit[];
}

function attribute(name: string, v: OnnxAttr): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if (typeof v === 'object') return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.float });
  return onnx.AttributeProto.create({ name, type: T.INT, i: v });
}

function valueInfo(v: { name: string; type: OnnxType; dims: number[] }) {
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: onnx.TypeProto.create({ tensorType: { elemType: TYPE_CODE[v.type], shape: { dim: v.dims.map((d) => (d < 0 ? { dimParam: 'N' } : { dimValue: d })) } } }),
  });
}

export function encodeModel(g: OnnxGraphSpec): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: g.name,
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
    node: g.nodes.map((n, i) =>
      onnx.NodeProto.create({
        name: n.name ?? `${n.op}_${i}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      }),
    ),
    initializer: g.initializers.map((t) =>
      onnx.TensorProto.create({
        name: t.name,
        dataType: TYPE_CODE[t.type],
        dims: t.dims,
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      }),
    ),
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'quantlab-bench',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
