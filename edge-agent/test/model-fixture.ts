/** The agent's tests share the repository's model fixture (real ONNX models, real MNIST PNGs). */
export * from '@edgeloop/tests/support/model-fixture';
