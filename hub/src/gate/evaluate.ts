/**
 * Runs models over the gate's examples to get the predictions `gate.ts` compares. Each model runs
 * through `loadOnnxClassifier` (the same onnxruntime path and preprocessing as `/classify`), from a
 * private temporary directory, so its sha256 is checked against its manifest before it runs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelManifest } from '@edgeloop/protocol';
import { HubError } from '../errors.js';
import { loadOnnxClassifier } from '../labeling/classifier.js';
import type { GateInput } from './gate.js';

export interface ModelFiles {
  manifest: ModelManifest;
  onnx: Uint8Array;
}

export interface LabelledImage {
  bytes: Uint8Array;
  label: string;
}

/** The label each image gets from `model`, in order. */
export async function predictImages(model: ModelFiles, images: readonly Uint8Array[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-gate-'));
  try {
    await writeFile(join(dir, 'model.onnx'), model.onnx);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(model.manifest));
    const classifier = await loadOnnxClassifier(dir);
    return (await classifier.classifyMany(images)).map((c) => c.label);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the champion and the challenger over the same labelled images and returns the gate's
 * input. The label list is the examples' labels first, then any label only a model knows (its
 * predictions of such a label are simply wrong).
 */
export async function buildGateInput(champion: ModelFiles, challenger: ModelFiles, examples: readonly LabelledImage[]): Promise<GateInput> {
  if (examples.length === 0) throw new HubError('BAD_REQUEST', 'the gate needs at least one example');
  const images = examples.map((e) => e.bytes);
  const [a, b] = [await predictImages(champion, images), await predictImages(challenger, images)];
  const labels: string[] = [];
  const index = new Map<string, number>();
  const indexOf = (label: string) => {
    let i = index.get(label);
    if (i === undefined) {
      i = labels.push(label) - 1;
      index.set(label, i);
    }
    return i;
  };
  const truth = examples.map((e) => indexOf(e.label));
  for (const label of [...champion.manifest.labels, ...challenger.manifest.labels]) indexOf(label);
  return { labels, truth, champion: a.map(indexOf), challenger: b.map(indexOf) };
}
