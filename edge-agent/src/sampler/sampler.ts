/**
 * The agent's sampler: the protocol's strategies and budgets ({@link selectSample}), configured by
 * local defaults until the hub's {@link DeviceConfig} arrives (the last one is remembered for an
 * offline restart). Each sample id is decided once: a repeat is a duplicate, neither drawn again nor
 * charged to the budget, so the inclusion probability sent with a sample stays true. Budgets are
 * persisted with every decision that spends a token, so a restart cannot refill them.
 */
import {
  type BudgetConfig,
  BudgetConfigSchema,
  type DeviceConfig,
  DeviceConfigSchema,
  mathRandom,
  type Rng,
  SamplingBudget,
  type SamplingConfig,
  type SamplingConfigInput,
  SamplingConfigSchema,
  type SamplingDecision,
  type SamplingInfo,
  selectSample,
} from '@edgeloop/protocol';
import type { DurableDb } from '../outbox/durable-db.js';
import { SamplerState } from './sampler-state.js';

export interface SamplerOptions {
  /** The agent's state database (`SqliteOutbox.database`). */
  db: DurableDb;
  /** Local defaults, used until the hub's device config arrives. */
  defaults: { sampling: SamplingConfigInput; budgets: BudgetConfig };
  /** How many recent sample ids are remembered for deduplication. Default 10 000. */
  recentIds?: number;
  now?: () => number;
  rng?: Rng;
  /** Told when state could not be persisted (the decision still stands). */
  onError?: (error: unknown) => void;
}

/** The sampler's answer for one prediction. */
export type SampleVerdict =
  | { include: true; sampling: SamplingInfo; decision: SamplingDecision }
  | { include: false; reason: 'duplicate' | 'not_selected' | 'budget_exhausted'; decision?: SamplingDecision };

/** The prediction to decide on. */
export interface SampleCandidate {
  sampleId: string;
  /** The model's probability vector. */
  probabilities: readonly number[];
  /** The predicted (top) label: its class budget is charged. */
  label: string;
}

export class Sampler {
  private sampling: SamplingConfig;
  private budgets: BudgetConfig;
  private budget: SamplingBudget;
  private source: 'local' | 'hub' = 'local';
  private readonly state: SamplerState;
  private readonly now: () => number;
  private readonly rng: Rng;

  constructor(private readonly options: SamplerOptions) {
    this.now = options.now ?? Date.now;
    this.rng = options.rng ?? mathRandom;
    this.state = new SamplerState(options.db, options.recentIds ?? 10_000);
    this.sampling = SamplingConfigSchema.parse(options.defaults.sampling);
    this.budgets = BudgetConfigSchema.parse(options.defaults.budgets);
    const hub = DeviceConfigSchema.safeParse(this.safely(() => this.state.get('hub_config')));
    if (hub.success) this.use(hub.data);
    this.budget = this.restoreBudget(this.safely(() => this.state.get('budget')));
  }

  /** The configuration in force and where it came from. */
  get config(): { sampling: SamplingConfig; budgets: BudgetConfig; source: 'local' | 'hub' } {
    return { sampling: this.sampling, budgets: this.budgets, source: this.source };
  }

  /** Switches to the hub's configuration; tokens already spent stay spent. */
  applyConfig(config: DeviceConfig): void {
    const snapshot = this.budget.snapshot();
    this.use(config);
    this.budget = this.restoreBudget(snapshot);
    this.safely(() => this.state.put('hub_config', config));
    this.persistBudget();
  }

  /** Decides whether to send this prediction's input to the hub. */
  consider(candidate: SampleCandidate): SampleVerdict {
    if (this.safely(() => this.state.seen(candidate.sampleId))) return { include: false, reason: 'duplicate' };
    const before = JSON.stringify(this.budget.snapshot());
    const decision = selectSample(candidate.probabilities, candidate.label, this.sampling, this.budget, this.rng, this.now());
    const after = this.budget.snapshot();
    this.safely(() => this.state.remember(candidate.sampleId, JSON.stringify(after) === before ? undefined : after));
    if (!decision.include)
      return { include: false, reason: decision.reason === 'budget_exhausted' ? 'budget_exhausted' : 'not_selected', decision };
    const { strategy, score, inclusionProbability, audit } = decision;
    const reason = decision.reason as SamplingInfo['reason'];
    return { include: true, decision, sampling: { strategy, score, inclusionProbability, audit, reason } };
  }

  /** Tokens available now for the device and one class (for status and tests). */
  available(label: string): { device: number; class: number } {
    return this.budget.available(label, this.now());
  }

  private use(config: DeviceConfig): void {
    this.sampling = config.sampling;
    this.budgets = config.budgets;
    this.source = 'hub';
  }

  /** Restores a snapshot under the current budget config, never above the (new) capacities. */
  private restoreBudget(snapshot: unknown): SamplingBudget {
    const now = this.now();
    const restored = snapshot === undefined ? undefined : SamplingBudget.restore(this.budgets, snapshot, now);
    if (!restored?.ok) return new SamplingBudget(this.budgets, now);
    const s = restored.value.snapshot();
    const cap = (label: string) => (this.budgets.classOverrides[label] ?? this.budgets.perClass).capacity;
    s.device.tokens = Math.min(s.device.tokens, this.budgets.device.capacity);
    for (const [label, b] of Object.entries(s.classes)) b.tokens = Math.min(b.tokens, cap(label));
    return new SamplingBudget(this.budgets, now, s);
  }

  private persistBudget(): void {
    this.safely(() => this.state.put('budget', this.budget.snapshot()));
  }

  private safely<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      // Disk full or a storage error must not stop classification: the decision stands in memory.
      this.options.onError?.(error);
      return undefined;
    }
  }
}
