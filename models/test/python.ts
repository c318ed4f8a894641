/** The Python used for independent checks (onnx.checker) and the PyTorch reference. */
import { spawnSync } from 'node:child_process';

export const PYTHON = process.env.EDGELOOP_PYTHON ?? 'python3';

/** Whether `PYTHON` can import every module named. */
export function pythonHas(...modules: string[]): boolean {
  const r = spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
  return r.status === 0;
}
