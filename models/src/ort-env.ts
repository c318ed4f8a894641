/**
 * Runs before onnxruntime-node initializes (see `./ort.ts`). Since 1.29 the prebuilt ONNX Runtime for
 * Linux and macOS carries Microsoft's 1DS telemetry: at the first session it writes a persistent
 * device id and an offline event cache under `~/.cache/Microsoft/DeveloperTools/.onnxruntime/`, and
 * tries to upload. An edge device that classifies offline must not do that by default.
 * `ORT_DISABLE_TELEMETRY=1` turns all of it off when set before initialization; an operator who
 * wants it on sets `ORT_DISABLE_TELEMETRY=0` (an explicit value is left alone).
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1';
