/**
 * The label triggers on a real hub database: new labelled samples since the last training (≥ N),
 * and the per-label change rule (> K files, default 200) against the last trained snapshot.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSnapshot } from '../datasets/snapshot.js';
import { openTestHub, type TestHub } from '../labeling/test-support.js';
import { defaultTriggerConfig, triggerConfig } from './config.js';
import { evaluateLabelChange, evaluateNewLabels } from './evaluate.js';
import { TriggerFacts } from './facts.js';
import { addLabel, addLabelled, addSample } from './test-support.js';

let hub: TestHub;
let facts: TriggerFacts;
beforeEach(async () => {
  hub = await openTestHub();
  facts = new TriggerFacts(hub.database);
});
afterEach(() => hub.close());

const TRAINED_AT = '2026-03-01T12:00:00.000Z';
const newLabels = (minCount: number) => triggerConfig({ newLabels: { minCount } }).newLabels;

describe('new labelled samples since the last training', () => {
  it('fires at exactly N distinct samples labelled after the training, not at N − 1', () => {
    addLabelled(hub.database, 40, 'cat', '2026-03-01T11:00:00.000Z'); // before: not counted
    const after = addLabelled(hub.database, 9, 'dog', '2026-03-01T13:00:00.000Z');
    // A sample relabelled twice after the training counts once.
    addLabel(hub.database, after[0]!, 'cat', '2026-03-01T14:00:00.000Z');
    const n9 = evaluateNewLabels(newLabels(10), { newLabelled: facts.newLabelled(TRAINED_AT), since: TRAINED_AT });
    expect(n9).toMatchObject({ fire: false, inputs: { newLabelled: 9, minCount: 10 } });
    addLabel(hub.database, addSample(hub.database), 'dog', '2026-03-01T15:00:00.000Z');
    const n10 = evaluateNewLabels(newLabels(10), { newLabelled: facts.newLabelled(TRAINED_AT), since: TRAINED_AT });
    expect(n10).toMatchObject({ kind: 'newLabels', fire: true, inputs: { newLabelled: 10 } });
    expect(n10.reason).toContain('10 samples labelled since 2026-03-01T12:00:00.000Z');
  });

  it('counts a relabel of an old sample (it is new labelled data) and everything before the first training', () => {
    const old = addLabelled(hub.database, 5, 'cat', '2026-03-01T11:00:00.000Z');
    addLabel(hub.database, old[0]!, 'dog', '2026-03-01T13:00:00.000Z');
    expect(facts.newLabelled(TRAINED_AT)).toBe(1);
    expect(facts.newLabelled(undefined)).toBe(5);
  });
});

describe('per-label change > K since the last trained snapshot', () => {
  const K = defaultTriggerConfig.labelChange.perLabelK;

  function trainedSnapshot(): string {
    return createSnapshot({ db: hub.database }, { name: 'trained', actor: 'test' }).id;
  }

  it('uses K = 200 by default: 200 new files of one label do not fire, 201 do', () => {
    expect(K).toBe(200);
    addLabelled(hub.database, 50, 'cat');
    const trained = trainedSnapshot();
    addLabelled(hub.database, 200, 'dog');
    const at200 = evaluateLabelChange(defaultTriggerConfig.labelChange, { changes: facts.labelChanges(trained), datasetId: trained });
    expect(at200.fire).toBe(false);
    expect(at200.inputs.changes).toEqual([{ label: 'dog', added: 200, removed: 0, changed: 200 }]);
    expect(at200.reason).toBe('no label changed by more than 200 files (largest: dog 200)');
    addLabelled(hub.database, 1, 'dog');
    const at201 = evaluateLabelChange(defaultTriggerConfig.labelChange, { changes: facts.labelChanges(trained), datasetId: trained });
    expect(at201).toMatchObject({ kind: 'labelChange', fire: true, inputs: { labelsOverK: ['dog'], perLabelK: 200, datasetId: trained } });
  });

  it('counts files moved between labels on both sides, even when no count changes', () => {
    const cats = addLabelled(hub.database, 300, 'cat');
    const dogs = addLabelled(hub.database, 300, 'dog');
    const trained = trainedSnapshot();
    // Swap 101 cats with 101 dogs: both counts stay 300, but each label changed by 202 files.
    hub.database.sqlite.transaction(() => {
      for (let i = 0; i < 101; i++) {
        addLabel(hub.database, cats[i]!, 'dog');
        addLabel(hub.database, dogs[i]!, 'cat');
      }
    })();
    const changes = facts.labelChanges(trained);
    expect(changes).toEqual({ cat: { added: 101, removed: 101 }, dog: { added: 101, removed: 101 } });
    expect(evaluateLabelChange(defaultTriggerConfig.labelChange, { changes, datasetId: trained })).toMatchObject({
      fire: true,
      inputs: { labelsOverK: ['cat', 'dog'] },
    });
    // 100 each way is exactly 200 per label: not more than K.
    addLabel(hub.database, cats[0]!, 'cat');
    addLabel(hub.database, dogs[0]!, 'dog');
    expect(evaluateLabelChange(defaultTriggerConfig.labelChange, { changes: facts.labelChanges(trained), datasetId: trained }).fire).toBe(
      false,
    );
  });

  it('counts removals: 201 files relabelled away from a label fire for it', () => {
    const cats = addLabelled(hub.database, 250, 'cat');
    const trained = trainedSnapshot();
    hub.database.sqlite.transaction(() => {
      for (const id of cats.slice(0, 201)) addLabel(hub.database, id, 'lynx');
    })();
    const changes = facts.labelChanges(trained);
    expect(changes).toEqual({ cat: { added: 0, removed: 201 }, lynx: { added: 201, removed: 0 } });
  });

  it('ignores labels the trained snapshot excluded on purpose, and without a snapshot counts all as added', () => {
    addLabelled(hub.database, 10, 'cat');
    addLabelled(hub.database, 300, 'noise');
    const trained = createSnapshot({ db: hub.database }, { name: 'cats only', actor: 'test', labels: ['cat'] }).id;
    addLabelled(hub.database, 250, 'noise');
    expect(facts.labelChanges(trained)).toEqual({});
    expect(facts.labelChanges(undefined)).toEqual({ cat: { added: 10, removed: 0 }, noise: { added: 550, removed: 0 } });
  });

  it('lists at most the ten largest changes when few labels are over K', () => {
    const changes = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`l${i}`, { added: i, removed: 0 }]));
    const e = evaluateLabelChange({ enabled: true, perLabelK: 25 }, { changes, datasetId: null });
    expect(e.fire).toBe(true);
    expect((e.inputs.changes as unknown[]).length).toBe(10);
    expect(e.inputs.labelsOverK).toEqual(['l29', 'l28', 'l27', 'l26']);
  });
});
