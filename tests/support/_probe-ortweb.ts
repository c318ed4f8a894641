import { OnnxGraph } from '@edgeloop/models/src/export/onnx-graph.ts';
