/**
 * `@edgeloop/models/ort`: onnxruntime-node, loaded with ONNX Runtime's telemetry off unless the
 * environment says otherwise (`./ort-env.ts` says why). Every edgeloop module that runs a model in
 * Node imports ORT from here; the import order below is what makes it work (ES modules evaluate
 * their imports in order).
 */
import './ort-env.js';
import * as ort from 'onnxruntime-node';

export { ort };
