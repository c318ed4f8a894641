import { describe, expect, it } from 'vitest';
import { newestModelRelease, tufTargetDownloadPath, withMetadataDir } from './targets.js';
import type { TufTargetInfo } from './types.js';

const SHA = 'ab'.repeat(32);
const info = (path: string): TufTargetInfo => ({ path, length: 1, sha256: SHA });
const table = (...paths: string[]) => Object.fromEntries(paths.map((p) => [p, info(p)]));

describe('targets', () => {
  it('downloads targets by hash-prefixed names (consistent snapshots, §5.7.3)', () => {
    expect(tufTargetDownloadPath(info('mnist-cnn/3/model.onnx'))).toBe(`targets/mnist-cnn/3/${SHA}.model.onnx`);
    expect(tufTargetDownloadPath(info('top.bin'))).toBe(`targets/${SHA}.top.bin`);
  });

  it('finds the newest canonical-decimal release with a model file', () => {
    const targets = table(
      'digits/2/model.onnx',
      'digits/10/model.onnx',
      'digits/11/manifest.json', // a manifest alone is no release
      'digits/012/model.onnx',
      'digits/1e3/model.onnx',
      'digits/99/extra/model.onnx',
      'digits-x/50/model.onnx',
      'other/40/model.onnx',
    );
    expect(newestModelRelease(targets, 'digits')).toBe(10);
    expect(newestModelRelease(targets, 'other')).toBe(40);
    expect(newestModelRelease(targets, 'none')).toBeUndefined();
  });

  it('withMetadataDir puts metadata one directory down and leaves targets alone', async () => {
    const asked: [string, number][] = [];
    const remote = withMetadataDir({ get: async (p, max) => void asked.push([p, max]) });
    await remote.get('2.root.json', 5);
    await remote.get('timestamp.json', 6);
    await remote.get('targets/a/1/x.model.onnx', 7);
    expect(asked).toEqual([
      ['metadata/2.root.json', 5],
      ['metadata/timestamp.json', 6],
      ['targets/a/1/x.model.onnx', 7],
    ]);
  });
});
