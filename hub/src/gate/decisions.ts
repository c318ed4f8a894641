/**
 * Runs the gate and keeps its decision: every number goes into `gate_decisions`, so "why was this
 * model promoted (or not)?" is answered from the table, and the decision can be recomputed from
 * the stored seed. With `apply`, a promotion moves the champion alias to the challenger (actor
 * `system:gate`) and a rejection is written to the stage history.
 */
import { randomUUID } from 'node:crypto';
import { desc, eq } from 'drizzle-orm';
import type { OpenDatabase } from '../db/open.js';
import { gateDecisions } from '../db/schema-registry.js';
import type { GateConfig } from '../registry/config.js';
import type { ModelRegistry } from '../registry/models.js';
import type { GateDecisionRecord } from '../registry/types.js';
import { evaluateGate, type GateInput, type GateResult } from './gate.js';

export interface GateRequest {
  model: string;
  input: GateInput;
  championVersion?: number;
  /** The challenger as a registered version, or only as the run that trained it. */
  challengerVersion?: number;
  challengerRunId?: string;
  actor?: string;
  /** Where the examples came from, e.g. `{golden: 500, hard: 120, datasetId}`. */
  detail?: Record<string, unknown>;
  /** Move the aliases (promote) or record the rejection in the stage history. Needs `challengerVersion`. */
  apply?: boolean;
}

export interface GateDeps {
  db: OpenDatabase;
  registry: ModelRegistry;
  settings: GateConfig;
  now?: () => Date;
}

export class PromotionGate {
  constructor(private readonly deps: GateDeps) {}

  /** Evaluates, stores, and (with `apply`) acts on the decision. */
  decide(request: GateRequest): { record: GateDecisionRecord; result: GateResult } {
    const result = evaluateGate(request.input, this.deps.settings);
    const { bootstrap } = result;
    const record: GateDecisionRecord = {
      id: randomUUID(),
      at: (this.deps.now?.() ?? new Date()).toISOString(),
      model: request.model,
      championVersion: request.championVersion ?? null,
      challengerVersion: request.challengerVersion ?? null,
      challengerRunId: request.challengerRunId ?? null,
      decision: result.decision,
      reasons: result.reasons,
      examples: result.examples,
      championAccuracy: result.championAccuracy,
      challengerAccuracy: result.challengerAccuracy,
      difference: bootstrap.difference,
      ciLow: bootstrap.low,
      ciHigh: bootstrap.high,
      settings: { ...result.settings, standardError: bootstrap.standardError },
      perClass: result.perClass as unknown as Record<string, unknown>,
      actor: request.actor ?? 'system:gate',
      detail: request.detail ?? null,
    };
    this.deps.db.db.insert(gateDecisions).values(record).run();
    if (request.apply && request.challengerVersion !== undefined) {
      const why = { gateDecision: record.id, ciLow: record.ciLow, difference: record.difference };
      if (result.decision === 'promote') {
        this.deps.registry.setAlias(request.model, 'champion', request.challengerVersion, 'system:gate', result.reasons.join('; '), why);
      } else {
        this.deps.registry.recordRejection(request.model, request.challengerVersion, result.reasons.join('; '), why);
      }
    }
    return { record, result };
  }

  get(id: string): GateDecisionRecord | undefined {
    return this.deps.db.db.select().from(gateDecisions).where(eq(gateDecisions.id, id)).get();
  }

  list(model?: string, limit = 50): GateDecisionRecord[] {
    const query = this.deps.db.db.select().from(gateDecisions);
    return (model === undefined ? query : query.where(eq(gateDecisions.model, model))).orderBy(desc(gateDecisions.at)).limit(limit).all();
  }
}
