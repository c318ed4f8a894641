/**
 * The training kernels we register on the tfjs wasm backend: see `wasm-kernels/register.ts` for
 * the findings behind each one, and `wasm-kernels/*.test.ts` for the checks.
 */
export { registerWasmTrainingKernels } from './wasm-kernels/register.js';
