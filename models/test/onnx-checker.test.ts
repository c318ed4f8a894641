/** An independent check of the exporter: Python's onnx.checker (with shape inference) accepts its output. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePart } from '@edgeloop/tests/support/ci';
import { describe, expect, it } from 'vitest';
import { mnistCnn, rgbCnn } from '../src/architectures.js';
import { exportToOnnx } from '../src/export/onnx.js';
import { selectBackend } from '../src/train/backend.js';
import { PYTHON, pythonHas } from './python.js';

describe.runIf(requirePart('Python with onnx', pythonHas('onnx'), `pip install onnx, or set EDGELOOP_PYTHON (now ${PYTHON})`))(
  'onnx.checker',
  () => {
    it('accepts the exported MNIST and RGB CNNs with full_check', async () => {
      await selectBackend('cpu');
      const dir = await mkdtemp(join(tmpdir(), 'edgeloop-onnx-'));
      const files = [join(dir, 'mnist.onnx'), join(dir, 'rgb.onnx')];
      await writeFile(files[0]!, exportToOnnx(mnistCnn()));
      await writeFile(files[1]!, exportToOnnx(rgbCnn(3)));
      const script =
        'import onnx, sys\nfor p in sys.argv[1:]:\n    m = onnx.load(p)\n    onnx.checker.check_model(m, full_check=True)\n    print(p, m.opset_import[0].version)';
      const r = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
      await rm(dir, { recursive: true });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(2);
    });
  },
);
