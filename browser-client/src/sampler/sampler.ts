/**
 * The browser's sampler: the protocol's strategies and budgets ({@link selectSample}), exactly as
 * the edge agent wires them (edge-agent `sampler/sampler.ts`). Configuration, in order: the hub's
 * retained device config, else client-config's `sampling`, else {@link defaultSampling} (the edge
 * agent's defaults). Each sample id is decided once, so a repeat neither draws again nor spends a
 * token. The budget, the last hub config and the recent ids persist in IndexedDB, so a reload can
 * neither refill the budget nor forget the hub's config while offline.
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
  type SamplingInfo,
  selectSample,
} from '@edgeloop/protocol';
import { kvGet, kvPut } from '../storage/idb.js';

/** The edge agent's defaults (edge-agent `config.ts`), used until the hub says otherwise. */
export const defaultSampling: { sampling: SamplingConfigInput; budgets: BudgetConfig } = {
  sampling: { strategy: { strategy: 'margin', threshold: 0.5, floor: 0.01 }, auditRate: 0.01 },
  budgets: { device: { capacity: 200, refillPerHour: 200 }, perClass: { capacity: 50, refillPerHour: 50 }, classOverrides: {} },
};

export type SampleVerdict =
  | { include: true; sampling: SamplingInfo }
  | { include: false; reason: 'duplicate' | 'not_selected' | 'budget_exhausted' };

interface PersistedState {
  hubConfig?: unknown;
  budget?: unknown;
  recent?: string[];
}

const KEY = 'sampler';
const RECENT_LIMIT = 2_000;

export class Sampler {
  private sampling: SamplingConfig;
  private budgets: BudgetConfig;
  private budget: SamplingBudget;
  private hubConfig: DeviceConfig | undefined;
  private readonly recent: string[] = [];
  private readonly seen = new Set<string>();
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly db: IDBDatabase,
    local: SamplingConfigInput | null,
    private readonly now: () => number,
    private readonly rng: Rng,
  ) {
    this.sampling = SamplingConfigSchema.parse(local ?? defaultSampling.sampling);
    this.budgets = BudgetConfigSchema.parse(defaultSampling.budgets);
    this.budget = new SamplingBudget(this.budgets, now());
  }

  /** Restores the persisted state; `local` is client-config's `sampling` (null: the defaults). */
  static async open(db: IDBDatabase, local: SamplingConfigInput | null, now = Date.now, rng = mathRandom): Promise<Sampler> {
    const s = new Sampler(db, local, now, rng);
    const state = (await kvGet<PersistedState>(db, KEY).catch(() => undefined)) ?? {};
    const hub = DeviceConfigSchema.safeParse(state.hubConfig);
    if (hub.success) s.use(hub.data);
    s.budget = s.restoreBudget(state.budget);
    for (const id of state.recent ?? []) s.remember(id);
    return s;
  }

  /** Where the configuration in force came from. */
  get source(): 'hub' | 'local' {
    return this.hubConfig ? 'hub' : 'local';
  }

  /** Switches to the hub's retained device config; tokens already spent stay spent. */
  applyConfig(config: DeviceConfig): void {
    const snapshot = this.budget.snapshot();
    this.use(config);
    this.budget = this.restoreBudget(snapshot);
    this.persist();
  }

  /** Decides whether to send this prediction's input to the hub. */
  consider(sampleId: string, probabilities: readonly number[], label: string): SampleVerdict {
    if (this.seen.has(sampleId)) return { include: false, reason: 'duplicate' };
    const d = selectSample(probabilities, label, this.sampling, this.budget, this.rng, this.now());
    this.remember(sampleId);
    this.persist();
    if (!d.include) return { include: false, reason: d.reason === 'budget_exhausted' ? 'budget_exhausted' : 'not_selected' };
    const { strategy, score, inclusionProbability, audit } = d;
    return { include: true, sampling: { strategy, score, inclusionProbability, audit, reason: d.reason as SamplingInfo['reason'] } };
  }

  /** Resolves once everything decided so far is persisted (tests and page unload). */
  flush(): Promise<void> {
    return this.saving;
  }

  private use(config: DeviceConfig): void {
    this.hubConfig = config;
    this.sampling = config.sampling;
    this.budgets = config.budgets;
  }

  private remember(id: string): void {
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.recent.push(id);
    while (this.recent.length > RECENT_LIMIT) this.seen.delete(this.recent.shift() as string);
  }

  /** Restores a snapshot under the current budget config, never above its capacities. */
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

  /** Persists in order; a storage failure must not stop classification (the decision stands). */
  private persist(): void {
    const state: PersistedState = { hubConfig: this.hubConfig, budget: this.budget.snapshot(), recent: [...this.recent] };
    this.saving = this.saving.then(() => kvPut(this.db, KEY, state)).catch(() => undefined);
  }
}
