import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mnistPngs, writeMnistModel } from '../../test/model-fixture.js';
import { AgentError } from '../errors.js';
import { type Classifier, loadClassifier } from './classifier.js';
import { ClassifierHolder } from './holder.js';

let v1Dir: string;
let v2Dir: string;
let images: Uint8Array[];

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'agent-holder-'));
  v1Dir = join(root, 'v1');
  v2Dir = join(root, 'v2');
  await writeMnistModel(v1Dir, { version: 1, seed: 1 });
  await writeMnistModel(v2Dir, { version: 2, seed: 7 });
  images = (await mnistPngs(20)).map((i) => i.bytes);
});

/** The real classifier, recording how many of its own classifications were running when its session was released. */
function tracked(c: Classifier, log: { releasedWithInflight?: number }): Classifier {
  let running = 0;
  return {
    ...c,
    classify: async (bytes, options) => {
      running++;
      try {
        return await c.classify(bytes, options);
      } finally {
        running--;
      }
    },
    release: async () => {
      log.releasedWithInflight = running;
      await c.release();
    },
  };
}

describe('ClassifierHolder', () => {
  it('answers NO_MODEL until a model is loaded', async () => {
    const holder = new ClassifierHolder();
    await expect(holder.classify(images[0]!)).rejects.toMatchObject({ code: 'NO_MODEL' });
    await holder.swap(await loadClassifier(v1Dir));
    expect((await holder.classify(images[0]!)).model.version).toBe(1);
    await holder.close();
  });

  it('swaps under load: no classification fails, each runs wholly on one model, the old session is freed after the last', async () => {
    const oldLog: { releasedWithInflight?: number } = {};
    const v1 = await loadClassifier(v1Dir);
    const v2 = await loadClassifier(v2Dir);
    const holder = new ClassifierHolder(tracked(v1, oldLog));
    const before: Promise<number>[] = [];
    const after: Promise<number>[] = [];
    let swapped: Promise<Classifier | undefined> | undefined;
    for (let i = 0; i < 200; i++) {
      const bytes = images[i % images.length]!;
      if (i < 100) {
        before.push(holder.classify(bytes).then((r) => r.model.version));
      } else {
        after.push(holder.classify(bytes).then((r) => r.model.version));
      }
      if (i === 99) swapped = holder.swap(v2); // the switch itself is synchronous
      if (i % 10 === 0) await new Promise((r) => setImmediate(r)); // let some finish while others start
    }
    const [v1Results, v2Results] = await Promise.all([Promise.all(before), Promise.all(after)]); // none rejected
    expect(v1Results.every((v) => v === 1)).toBe(true);
    expect(v2Results.every((v) => v === 2)).toBe(true);
    const previous = await swapped!;
    expect(previous?.model.version).toBe(1);
    expect(oldLog.releasedWithInflight).toBe(0); // released only once its last classification finished
    expect(holder.current()?.model.version).toBe(2);
    // The released session really is gone.
    await expect(v1.infer(new Float32Array(784))).rejects.toBeDefined();
    await holder.close();
  });

  it('waits for in-flight work before releasing the old session', async () => {
    const holder = new ClassifierHolder(await loadClassifier(v1Dir));
    const inflight = Promise.all(images.map((b) => holder.classify(b)));
    const swap = holder.swap(await loadClassifier(v2Dir));
    const results = await inflight;
    expect(results.every((r) => r.model.version === 1)).toBe(true);
    await swap;
    await holder.close();
  });

  it('refuses work after close, and releases a classifier swapped in after close', async () => {
    const holder = new ClassifierHolder(await loadClassifier(v1Dir));
    await holder.close();
    await expect(holder.classify(images[0]!)).rejects.toBeInstanceOf(AgentError);
    const late = await loadClassifier(v2Dir);
    await expect(holder.swap(late)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    await expect(late.infer(new Float32Array(784))).rejects.toBeDefined();
  });
});
