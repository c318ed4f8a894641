/**
 * An ONNX graph under construction and its encoding (ModelProto, onnx.proto field numbers; IR
 * version 7, opset 13, which onnxruntime-node and onnxruntime-web both run).
 */
import { ProtoWriter } from './protobuf.js';

export const OPSET = 13;
export const IR_VERSION = 7;
const FLOAT = 1; // TensorProto.DataType.FLOAT
const INT64 = 7; // TensorProto.DataType.INT64

export type Attr = number | number[] | string | { float: number };

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs: Record<string, Attr>;
}

interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** Collects nodes and weights, then encodes them. Names are unique by construction. */
export class OnnxGraph {
  private nodes: Node[] = [];
  private inits: Initializer[] = [];
  private counter = 0;

  /** A fresh tensor name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Adds a float weight; returns its name. */
  weight(prefix: string, dims: number[], data: Float32Array): string {
    const name = this.fresh(prefix);
    this.inits.push({ name, dims, data });
    return name;
  }

  /** Adds an int64 constant (e.g. a shape); returns its name. */
  int64(prefix: string, values: number[]): string {
    const name = this.fresh(prefix);
    this.inits.push({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  /** Adds a node; returns its (single) output name. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], name: this.fresh(`${op}_node`), attrs });
    return out;
  }

  /** Encodes the model: NHWC-agnostic, batch dimension symbolic (`batch`). */
  encode(opts: {
    graphName: string;
    input: { name: string; shape: (number | string)[] };
    output: { name: string; shape: (number | string)[] };
    docString?: string;
    producerVersion: string;
  }): Uint8Array {
    const valueInfo = (w: ProtoWriter, v: { name: string; shape: (number | string)[] }) =>
      w.string(1, v.name).message(2, (type) =>
        type.message(1, (tensor) =>
          tensor.int(1, FLOAT).message(2, (shape) => {
            for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
          }),
        ),
      );
    const attribute = (w: ProtoWriter, name: string, v: Attr) => {
      w.string(1, name);
      if (typeof v === 'number') w.int(20, 2).int(3, v);
      else if (typeof v === 'string') w.int(20, 3).string(4, v);
      else if (Array.isArray(v)) w.int(20, 7).packedInts(8, v);
      else w.int(20, 1).float(2, v.float);
    };
    const model = new ProtoWriter()
      .int(1, IR_VERSION)
      .string(2, 'edgeloop')
      .string(3, opts.producerVersion)
      .message(8, (op) => op.string(1, '').int(2, OPSET));
    if (opts.docString) model.string(6, opts.docString);
    model.message(7, (g) => {
      for (const n of this.nodes) {
        g.message(1, (w) => {
          for (const i of n.inputs) w.string(1, i);
          for (const o of n.outputs) w.string(2, o);
          w.string(3, n.name).string(4, n.op);
          for (const [k, v] of Object.entries(n.attrs)) w.message(5, (a) => attribute(a, k, v));
        });
      }
      g.string(2, opts.graphName);
      for (const t of this.inits) {
        g.message(5, (w) => {
          w.packedInts(1, t.dims)
            .int(2, t.data instanceof Float32Array ? FLOAT : INT64)
            .string(8, t.name);
          // raw_data is little-endian by the ONNX spec; copy so a big-endian host would still be right.
          const raw = new Uint8Array(t.data.byteLength);
          const view = new DataView(raw.buffer);
          t.data.forEach((x: number | bigint, i: number) => {
            if (typeof x === 'bigint') view.setBigInt64(i * 8, x, true);
            else view.setFloat32(i * 4, x, true);
          });
          w.bytes(9, raw);
        });
      }
      g.message(11, (w) => valueInfo(w, opts.input));
      g.message(12, (w) => valueInfo(w, opts.output));
    });
    return model.finish();
  }
}
