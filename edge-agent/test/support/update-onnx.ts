/**
 * A tiny real ONNX classifier, encoded by hand (onnx.proto field numbers; IR 7, opset 13):
 * x[N,H,W,C] → Flatten → MatMul(W) → Add(B) → Softmax → probs[N,K]. `nan: true` fills W with NaN,
 * a model that loads but outputs NaN (the self-test must refuse it). `padBytes` grows the file (a
 * doc string) to widen download windows in kill tests. No tfjs needed.
 */

import { createHash } from 'node:crypto';
import { encodeJson, type ModelManifest } from '@edgeloop/protocol';

class Proto {
  private parts: number[] = [];
  private varint(n: number): this {
    let v = BigInt(n);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      this.parts.push(byte);
    } while (v > 0n);
    return this;
  }
  int(field: number, n: number): this {
    return this.varint(field << 3).varint(n);
  }
  bytes(field: number, b: Uint8Array): this {
    this.varint((field << 3) | 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, build: (p: Proto) => void): this {
    const inner = new Proto();
    build(inner);
    return this.bytes(field, inner.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const FLOAT = 1;

export interface TinyModelOptions {
  height?: number;
  width?: number;
  channels?: 1 | 3;
  classes?: number;
  /** Varies the weights, so each version has different bytes. */
  seed?: number;
  nan?: boolean;
  padBytes?: number;
}

export function tinyOnnx(o: TinyModelOptions = {}): Uint8Array {
  const [h, w, c, k] = [o.height ?? 4, o.width ?? 4, o.channels ?? 1, o.classes ?? 3];
  const n = h * w * c;
  let s = (o.seed ?? 1) >>> 0;
  const rand = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 0.2;
  };
  const weights = Float32Array.from({ length: n * k }, () => (o.nan ? Number.NaN : rand()));
  const bias = Float32Array.from({ length: k }, rand);
  const tensor = (p: Proto, name: string, dims: number[], data: Float32Array) => {
    for (const d of dims) p.int(1, d);
    p.int(2, FLOAT)
      .string(8, name)
      .bytes(9, new Uint8Array(data.buffer.slice(0)));
  };
  const valueInfo = (p: Proto, name: string, dims: (number | string)[]) =>
    p.string(1, name).msg(2, (t) =>
      t.msg(1, (tt) =>
        tt.int(1, FLOAT).msg(2, (shape) => {
          for (const d of dims) shape.msg(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }),
      ),
    );
  const node = (p: Proto, op: string, inputs: string[], output: string) => {
    for (const i of inputs) p.string(1, i);
    p.string(2, output).string(3, `${op}_node`).string(4, op);
  };
  const model = new Proto()
    .int(1, 7)
    .string(2, 'edgeloop-test')
    .msg(8, (op) => op.string(1, '').int(2, 13));
  if (o.padBytes) model.string(6, 'p'.repeat(o.padBytes));
  model.msg(7, (g) => {
    g.msg(1, (p) => node(p, 'Flatten', ['x'], 'flat'));
    g.msg(1, (p) => node(p, 'MatMul', ['flat', 'W'], 'mm'));
    g.msg(1, (p) => node(p, 'Add', ['mm', 'B'], 'logits'));
    g.msg(1, (p) => node(p, 'Softmax', ['logits'], 'probs'));
    g.string(2, 'tiny');
    g.msg(5, (p) => tensor(p, 'W', [n, k], weights));
    g.msg(5, (p) => tensor(p, 'B', [k], bias));
    g.msg(11, (p) => valueInfo(p, 'x', ['batch', h, w, c]));
    g.msg(12, (p) => valueInfo(p, 'probs', ['batch', k]));
  });
  return model.finish();
}

/** The manifest of a tiny model: same name/version as its release, the model's sha256 and length. */
export function tinyManifest(name: string, version: number, onnx: Uint8Array, o: TinyModelOptions = {}): ModelManifest {
  const [h, w, c, k] = [o.height ?? 4, o.width ?? 4, o.channels ?? 1, o.classes ?? 3];
  return {
    v: 1,
    name,
    version,
    labels: Array.from({ length: k }, (_, i) => `class-${i}`),
    input: { name: 'x', shape: [-1, h, w, c], layout: 'NHWC', dtype: 'float32' },
    output: { name: 'probs', kind: 'probabilities' },
    preprocessing: {
      width: w,
      height: h,
      channels: c,
      fit: 'fill',
      kernel: 'bilinear',
      background: [255, 255, 255],
      invert: false,
      mean: Array(c).fill(0),
      std: Array(c).fill(1),
    },
    model: { format: 'onnx', sha256: createHash('sha256').update(onnx).digest('hex'), length: onnx.byteLength },
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

/** A release's two files, ready to add as targets. */
export function tinyRelease(name: string, version: number, o: TinyModelOptions = {}): { onnx: Uint8Array; manifest: Uint8Array } {
  const onnx = tinyOnnx({ seed: version, ...o });
  return { onnx, manifest: encodeJson('manifest', tinyManifest(name, version, onnx, o)) };
}
