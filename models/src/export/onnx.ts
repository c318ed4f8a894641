/**
 * Exports a tfjs layers model (a chain: Sequential, or a functional model without branches) to
 * ONNX that runs unchanged in onnxruntime-node and onnxruntime-web.
 *
 * Layout: the ONNX model takes the same NHWC input as the tfjs model (so preprocessing is one
 * tensor for both) and transposes once to NCHW, which ONNX Conv and pooling require; with one
 * channel that transpose moves no data and is written as a Reshape. tfjs flattens in (h, w, c)
 * order: a Flatten that feeds a Dense flattens the NCHW tensor as it is and the Dense's weight rows
 * are permuted to (c, h, w) order instead (the same products, summed in another order), and any
 * other Flatten transposes back to NHWC first. Padding 'same' is written as explicit pads with
 * the odd pixel at the bottom/right, as TF does; AveragePool excludes padding from its count, as
 * TF does.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelsError } from '../errors.js';
import { OnnxGraph, OPSET } from './onnx-graph.js';

export { OPSET } from './onnx-graph.js';

export interface OnnxExportOptions {
  modelName?: string;
  docString?: string;
  inputName?: string;
  outputName?: string;
}

type Layout = 'NHWC' | 'NCHW' | 'flat';

interface State {
  g: OnnxGraph;
  name: string;
  layout: Layout;
  /** Set by a Flatten of an NCHW tensor: the (h, w, c) it flattened in (c, h, w) order, for the Dense after it. */
  flattenedChw?: [number, number, number];
}

const ACTIVATIONS: Record<string, string | null> = { linear: null, relu: 'Relu', softmax: 'Softmax', sigmoid: 'Sigmoid', tanh: 'Tanh' };

function unsupported(layer: tf.layers.Layer, why: string): never {
  throw new ModelsError('UNSUPPORTED_LAYER', `layer "${layer.name}" (${layer.getClassName()}) ${why}`);
}

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)];
}

/** Explicit ONNX pads [top, left, bottom, right] for TF-style padding. */
function pads(padding: string, inH: number, inW: number, k: [number, number], s: [number, number], d: [number, number] = [1, 1]): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const total = (size: number, kk: number, ss: number, dd: number) => {
    const out = Math.ceil(size / ss);
    return Math.max(0, (out - 1) * ss + (kk - 1) * dd + 1 - size);
  };
  const th = total(inH, k[0], s[0], d[0]);
  const tw = total(inW, k[1], s[1], d[1]);
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

/**
 * Brings a 4-D tensor to `want`. `hwc` is its (height, width, channels) where the caller knows them:
 * with one channel the two layouts hold the same bytes in the same order, so a Reshape (no copy in
 * onnxruntime) does instead of a Transpose.
 */
function toLayout(st: State, want: 'NCHW' | 'NHWC', hwc?: [number, number, number]): void {
  if (st.layout === want || st.layout === 'flat') return;
  if (hwc && hwc[2] === 1) {
    // 0 copies the batch dimension from the input (Reshape with allowzero = 0).
    const shape = want === 'NCHW' ? [0, 1, hwc[0], hwc[1]] : [0, hwc[0], hwc[1], 1];
    st.name = st.g.node('Reshape', [st.name, st.g.int64('shape', shape)]);
  } else {
    st.name = st.g.node('Transpose', [st.name], { perm: want === 'NCHW' ? [0, 3, 1, 2] : [0, 2, 3, 1] });
  }
  st.layout = want;
}

function activation(st: State, layer: tf.layers.Layer, name: unknown): void {
  const op = ACTIVATIONS[String(name ?? 'linear')];
  if (op === undefined) unsupported(layer, `has activation "${String(name)}", which the ONNX exporter does not support`);
  if (op === null) return;
  if (op === 'Softmax' && st.layout !== 'flat')
    unsupported(layer, 'applies softmax to a 4-D tensor, which the ONNX exporter does not support');
  st.name = st.g.node(op, [st.name], op === 'Softmax' ? { axis: -1 } : {});
}

function data(t: tf.Tensor): Float32Array {
  return Float32Array.from(t.dataSync());
}

/** (height, width, channels) of a layer's 4-D input. */
function inputHWC(layer: tf.layers.Layer): [number, number, number] {
  const shape = (layer.input as tf.SymbolicTensor).shape;
  return [Number(shape[1]), Number(shape[2]), Number(shape[3])];
}

/**
 * A Dense kernel whose rows follow tfjs's (h, w, c) flatten order, with its rows put in the (c, h, w)
 * order of a flattened NCHW tensor: row (c·H + y)·W + x of the result is row (y·W + x)·C + c.
 */
function chwRows(kernel: Float32Array, [h, w, c]: [number, number, number], outDim: number): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const from = ((y * w + x) * c + ch) * outDim;
        out.set(kernel.subarray(from, from + outDim), ((ch * h + y) * w + x) * outDim);
      }
  return out;
}

function exportLayer(st: State, layer: tf.layers.Layer, next: tf.layers.Layer | undefined): void {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  if (cfg.dataFormat === 'channelsFirst') unsupported(layer, 'uses channelsFirst, which the ONNX exporter does not support');
  const weights = layer.getWeights();
  switch (cls) {
    case 'InputLayer':
    case 'Dropout':
      return; // identity at inference
    case 'Conv2D': {
      const k = pair(cfg.kernelSize);
      const s = pair(cfg.strides);
      const d = pair(cfg.dilationRate ?? 1);
      const hwc = inputHWC(layer);
      const [h, w] = hwc;
      toLayout(st, 'NCHW', hwc);
      const [kernel, bias] = weights as [tf.Tensor4D, tf.Tensor1D | undefined];
      const [, , ci, co] = kernel.shape;
      const wName = st.g.weight(`${layer.name}_W`, [co, ci, k[0], k[1]], data(kernel.transpose([3, 2, 0, 1])));
      const inputs = [st.name, wName];
      if (bias) inputs.push(st.g.weight(`${layer.name}_B`, [co], data(bias)));
      st.name = st.g.node('Conv', inputs, {
        kernel_shape: k,
        strides: s,
        dilations: d,
        pads: pads(String(cfg.padding), h, w, k, s, d),
        group: 1,
      });
      activation(st, layer, cfg.activation);
      return;
    }
    case 'Dense': {
      if (st.layout !== 'flat') unsupported(layer, 'is applied to a tensor of rank > 2, which the ONNX exporter does not support');
      const [kernel, bias] = weights as [tf.Tensor2D, tf.Tensor1D | undefined];
      const [inDim, outDim] = kernel.shape;
      const rows = st.flattenedChw ? chwRows(data(kernel), st.flattenedChw, outDim) : data(kernel);
      st.flattenedChw = undefined;
      const inputs = [st.name, st.g.weight(`${layer.name}_W`, [inDim, outDim], rows)];
      inputs.push(
        bias ? st.g.weight(`${layer.name}_B`, [outDim], data(bias)) : st.g.weight(`${layer.name}_B`, [outDim], new Float32Array(outDim)),
      );
      st.name = st.g.node('Gemm', inputs, { alpha: { float: 1 }, beta: { float: 1 }, transA: 0, transB: 0 });
      activation(st, layer, cfg.activation);
      return;
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const k = pair(cfg.poolSize);
      const s = pair(cfg.strides ?? cfg.poolSize);
      const hwc = inputHWC(layer);
      const [h, w] = hwc;
      toLayout(st, 'NCHW', hwc);
      const attrs = { kernel_shape: k, strides: s, pads: pads(String(cfg.padding), h, w, k, s) };
      st.name =
        cls === 'MaxPooling2D'
          ? st.g.node('MaxPool', [st.name], attrs)
          : st.g.node('AveragePool', [st.name], { ...attrs, count_include_pad: 0 });
      return;
    }
    case 'GlobalAveragePooling2D':
      toLayout(st, 'NCHW', inputHWC(layer));
      st.name = st.g.node('Flatten', [st.g.node('GlobalAveragePool', [st.name])], { axis: 1 });
      st.layout = 'flat';
      return;
    case 'Flatten':
      if (st.layout === 'NCHW' && next?.getClassName() === 'Dense') {
        // The Dense after it takes its rows in (c, h, w) order: no transpose back to NHWC.
        st.flattenedChw = inputHWC(layer);
      } else {
        toLayout(st, 'NHWC', st.layout === 'flat' ? undefined : inputHWC(layer)); // tfjs flattens in (h, w, c) order
      }
      st.name = st.g.node('Flatten', [st.name], { axis: 1 });
      st.layout = 'flat';
      return;
    case 'BatchNormalization': {
      const axis = Number(cfg.axis ?? -1);
      if (axis !== -1 && axis !== (st.layout === 'flat' ? 1 : 3))
        unsupported(layer, `normalises axis ${axis}; only the channel axis is supported`);
      const n = Number(weights[weights.length - 1]!.shape[0]);
      let i = 0;
      const gamma = cfg.scale === false ? new Float32Array(n).fill(1) : data(weights[i++]!);
      const beta = cfg.center === false ? new Float32Array(n) : data(weights[i++]!);
      const mean = data(weights[i++]!);
      const variance = data(weights[i++]!);
      if (st.layout === 'NHWC') toLayout(st, 'NCHW');
      const w = (p: string, v: Float32Array) => st.g.weight(`${layer.name}_${p}`, [n], v);
      st.name = st.g.node('BatchNormalization', [st.name, w('gamma', gamma), w('beta', beta), w('mean', mean), w('var', variance)], {
        epsilon: { float: Number(cfg.epsilon ?? 1e-3) },
      });
      return;
    }
    case 'ReLU':
      if (cfg.maxValue != null) unsupported(layer, 'has maxValue, which the ONNX exporter does not support');
      st.name = st.g.node('Relu', [st.name]);
      return;
    case 'Activation':
      activation(st, layer, cfg.activation);
      return;
    case 'Softmax':
      activation(st, layer, 'softmax');
      return;
    default:
      unsupported(layer, 'is not supported by the ONNX exporter');
  }
}

/** Exports `model` to ONNX bytes (opset {@link OPSET}); throws `UNSUPPORTED_LAYER` naming the layer. */
export function exportToOnnx(model: tf.LayersModel, options: OnnxExportOptions = {}): Uint8Array {
  const inputShape = model.inputs[0]!.shape;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new ModelsError(
      'UNSUPPORTED_LAYER',
      `model "${model.name}" has several inputs or outputs; the ONNX exporter supports one of each`,
    );
  }
  const inputName = options.inputName ?? 'input';
  const st: State = { g: new OnnxGraph(), name: inputName, layout: inputShape.length === 4 ? 'NHWC' : 'flat' };
  const layers = model.layers;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const inbound = (layer as unknown as { inboundNodes: { inboundLayers: unknown[] }[] }).inboundNodes;
    if (i > 0 && (inbound.length !== 1 || inbound[0]!.inboundLayers.length !== 1 || inbound[0]!.inboundLayers[0] !== layers[i - 1])) {
      unsupported(layer, 'is not part of a single chain of layers; the ONNX exporter supports sequential models only');
    }
    // Dropout is an identity at inference: what a layer feeds is the next layer that is not one.
    let next = i + 1;
    while (layers[next]?.getClassName() === 'Dropout') next++;
    exportLayer(st, layer, layers[next]);
  }
  const outShape = model.outputs[0]!.shape;
  if (st.layout === 'NCHW') toLayout(st, 'NHWC', [Number(outShape[1]), Number(outShape[2]), Number(outShape[3])]);
  const outputName = options.outputName ?? 'probabilities';
  st.g.node('Identity', [st.name], {}, outputName);
  const dims = (shape: (number | null)[]) => shape.map((d, i) => (i === 0 ? 'batch' : Number(d)));
  return st.g.encode({
    graphName: options.modelName ?? model.name,
    input: { name: inputName, shape: dims(inputShape) },
    output: { name: outputName, shape: dims(model.outputs[0]!.shape) },
    docString: options.docString,
    producerVersion: `tfjs ${tf.version.tfjs}, opset ${OPSET}`,
  });
}
