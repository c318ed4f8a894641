import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSampleFrame, verifySampleId } from '@edgeloop/protocol';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mnistPngs, writeMnistModel } from '../../test/model-fixture.js';
import { type Classifier, loadClassifier } from '../classifier/classifier.js';
import { loadConfig } from '../config-sources.js';
import { createLogger } from '../log.js';
import type { Outbox } from '../outbox/outbox.js';
import type { SqliteOutbox } from '../outbox/sqlite-outbox.js';
import { Sampler } from '../sampler/sampler.js';
import { openOutbox } from './parts.js';
import { SamplePath } from './sample-path.js';

let classifier: Classifier;
let pngs: Uint8Array[];
const open: SqliteOutbox[] = [];

beforeAll(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'agent-sp-')), 'm');
  await writeMnistModel(dir, { name: 'digits', version: 5 });
  classifier = await loadClassifier(dir);
  pngs = (await mnistPngs(12)).map((p) => p.bytes);
  return () => classifier.release();
});

afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

function setup(sampling: object, outboxOverride?: (o: Outbox) => Outbox, maxPending?: number) {
  const config = loadConfig({ file: { stateDir: mkdtempSync(join(tmpdir(), 'agent-sp-state-')), deviceId: 'dev-9' } });
  const outbox = openOutbox(config);
  open.push(outbox);
  const sampler = new Sampler({
    db: outbox.database,
    defaults: {
      sampling: sampling as never,
      budgets: { device: { capacity: 1e6, refillPerHour: 0 }, perClass: { capacity: 1e6, refillPerHour: 0 }, classOverrides: {} },
    },
  });
  let stored = 0;
  const path = new SamplePath({
    deviceId: 'dev-9',
    sampler,
    outbox: outboxOverride ? outboxOverride(outbox) : outbox,
    log: createLogger('silent'),
    onStored: () => stored++,
    maxPending,
  });
  return { outbox, path, stored: () => stored };
}

describe('SamplePath', () => {
  it('frames selected inputs as valid protocol samples, keyed by the sha256 of the image', async () => {
    const { outbox, path, stored } = setup({ strategy: { strategy: 'random', rate: 1 } });
    for (const png of pngs) path.offer(png, await classifier.classify(png));
    path.offer(pngs[0]!, await classifier.classify(pngs[0]!)); // seen before: a duplicate
    await path.idle();
    expect(path.counts).toMatchObject({ offered: 13, selected: 12, stored: 12, duplicate: 1, errors: 0 });
    expect(stored()).toBe(12);
    const items = await outbox.due(100);
    expect(items).toHaveLength(12);
    for (const item of items) {
      const frame = decodeSampleFrame(item.bytes);
      if (!frame.ok) throw frame.error;
      expect((await verifySampleId(frame.value)).ok).toBe(true);
      expect(item.sampleId).toBe(createHash('sha256').update(frame.value.image.bytes).digest('hex'));
      expect(frame.value).toMatchObject({
        deviceId: 'dev-9',
        model: { name: 'digits', version: 5 },
        image: { mime: 'image/png', width: 28, height: 28 },
        sampling: { strategy: 'random', inclusionProbability: 1, reason: 'random' },
      });
      expect(frame.value.prediction.probabilities).toHaveLength(10);
    }
  });

  it('counts what the sampler leaves out', async () => {
    const { path } = setup({ strategy: { strategy: 'random', rate: 0 } });
    for (const png of pngs) path.offer(png, await classifier.classify(png));
    await path.idle();
    expect(path.counts).toMatchObject({ offered: 12, selected: 0, notSelected: 12, stored: 0 });
  });

  it('never throws into the classification: a failing outbox is counted, and a backlog drops instead of growing', async () => {
    const failing = setup({ strategy: { strategy: 'random', rate: 1 } }, (o) => ({
      ...o,
      enqueue: () => Promise.reject(new Error('disk on fire')),
    }));
    for (const png of pngs.slice(0, 3)) failing.path.offer(png, await classifier.classify(png));
    await failing.path.idle();
    expect(failing.path.counts).toMatchObject({ selected: 3, stored: 0, errors: 3 });

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = setup(
      { strategy: { strategy: 'random', rate: 1 } },
      (o) => ({
        ...o,
        enqueue: async (e) => {
          await gate;
          return o.enqueue(e);
        },
      }),
      2,
    );
    for (const png of pngs.slice(0, 5)) slow.path.offer(png, await classifier.classify(png));
    release();
    await slow.path.idle();
    expect(slow.path.counts).toMatchObject({ selected: 5, stored: 2, dropped: 3 });
  });
});
