/** Response schemas of the registry routes (`registry.ts`), mirroring `registry/types.ts`. */
import { z } from 'zod';

const nullableNumber = z.number().nullable();

export const RunSchema = z.object({
  id: z.string(),
  experiment: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  datasetId: z.string().nullable(),
  datasetHash: z.string().nullable(),
  codeVersion: z.string().nullable().describe('git describe or the package version that trained'),
  backend: z.string().nullable().describe('The tfjs backend the worker used'),
  hardware: z.record(z.string(), z.unknown()).nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: nullableNumber,
  cpuSeconds: nullableNumber,
  gpuSeconds: nullableNumber,
  energyKwh: nullableNumber.describe('Estimated energy: busy CPU/GPU seconds × configured watts × PUE'),
  co2G: nullableNumber.describe('Estimated grams CO₂eq: energy × configured grid intensity'),
  error: z.string().nullable(),
});

export const MetricSchema = z.object({
  key: z.string(),
  value: z.number(),
  step: z.number().int(),
  epoch: z.number().int().nullable(),
  at: z.string(),
});

export const ArtifactSchema = z.object({
  runId: z.string(),
  name: z.string(),
  objectKey: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  contentType: z.string(),
  createdAt: z.string(),
});

const Aliases = z.object({ champion: z.number().int().optional(), challenger: z.number().int().optional() });

export const ModelSummarySchema = z.object({ model: z.string(), latestVersion: z.number().int(), aliases: Aliases });

export const ModelVersionSchema = z.object({
  model: z.string(),
  version: z.number().int(),
  runId: z.string().nullable(),
  datasetHash: z.string().nullable(),
  onnxKey: z.string(),
  onnxSha256: z.string(),
  onnxBytes: z.number().int(),
  manifestKey: z.string(),
  labels: z.array(z.string()),
  metrics: z.record(z.string(), z.number()),
  createdAt: z.string(),
  createdBy: z.string(),
});

export const StageEventSchema = z.object({
  id: z.number().int(),
  model: z.string(),
  version: z.number().int(),
  event: z.enum(['registered', 'alias-set', 'gate-rejected']),
  fromAlias: z.string().nullable(),
  toAlias: z.string().nullable(),
  replacedVersion: z.number().int().nullable(),
  actor: z.string().describe('user:<name>, system:gate or system:rollout'),
  reason: z.string(),
  at: z.string(),
  detail: z.record(z.string(), z.unknown()).nullable(),
});

const ClassResult = z.object({
  support: z.number().int(),
  champion: nullableNumber,
  challenger: nullableNumber,
  delta: nullableNumber,
  regressed: z.boolean(),
  lowSupport: z.boolean(),
});

export const GateDecisionSchema = z.object({
  id: z.string(),
  at: z.string(),
  model: z.string(),
  championVersion: z.number().int().nullable(),
  challengerVersion: z.number().int().nullable(),
  challengerRunId: z.string().nullable(),
  decision: z.enum(['promote', 'reject']),
  reasons: z.array(z.string()),
  examples: z.number().int(),
  championAccuracy: z.number(),
  challengerAccuracy: z.number(),
  difference: z.number().describe('Challenger − champion accuracy on the same examples'),
  ciLow: z.number(),
  ciHigh: z.number(),
  settings: z
    .record(z.string(), z.number())
    .describe('confidence, epsilon, classTolerance, minClassSupport, resamples, seed, standardError'),
  perClass: z.record(z.string(), ClassResult),
  actor: z.string(),
  detail: z.record(z.string(), z.unknown()).nullable(),
});
