/**
 * The device registry: issuance, revocation and what the hub knows of each device, over the
 * `devices` table. Every administrative change (issue, re-issue, revoke, a new model) writes an
 * `audit_log` row in the same transaction. Presence is observed state, not a change anyone made,
 * so it is not audited (a flapping device would otherwise fill the log).
 */
import { DeviceIdSchema } from '@edgeloop/protocol';
import { and, count, desc, eq, isNotNull, isNull, type SQL } from 'drizzle-orm';
import type { BrokerAuthenticator } from '../broker/hub-broker.js';
import type { OpenDatabase } from '../db/open.js';
import { auditLog, devices } from '../db/schema.js';
import { HubError } from '../errors.js';
import { createAuthenticator } from './authenticator.js';
import { hashSecret, issueSecret } from './credentials.js';

/** A device as the API shows it: never its secret hash. */
export interface DeviceRecord {
  id: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  status: 'unknown' | 'online' | 'offline';
  lastSeenAt: string | null;
  model: string | null;
  note: string | null;
}

/** `active` and `revoked` filter on credentials, the others on presence (of active devices). */
export type DeviceStatusFilter = 'active' | 'revoked' | 'online' | 'offline' | 'unknown';

const columns = {
  id: devices.id,
  createdAt: devices.createdAt,
  createdBy: devices.createdBy,
  revokedAt: devices.revokedAt,
  status: devices.status,
  lastSeenAt: devices.lastSeenAt,
  model: devices.model,
  note: devices.note,
};

/**
 * Read-then-write transactions take the write lock up front: a deferred one that reads first and
 * then finds another connection writing (the ingest thread commits all the time) fails with
 * SQLITE_BUSY at once instead of waiting out `busy_timeout`.
 */
const IMMEDIATE = { behavior: 'immediate' } as const;

export class DeviceRegistry {
  private readonly now: () => Date;

  constructor(
    private readonly database: OpenDatabase,
    options: { now?: () => Date } = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Issues credentials for a device. The secret is returned once and only its hash is kept. An
   * existing, unrevoked device is a `CONFLICT`; a revoked one is re-issued with a new secret.
   */
  async create(deviceId: string, actor: string, options: { note?: string } = {}): Promise<{ deviceId: string; secret: string }> {
    const valid = DeviceIdSchema.safeParse(deviceId);
    if (!valid.success) throw new HubError('BAD_REQUEST', `invalid device id: ${valid.error.issues[0]?.message ?? ''}`);
    const secret = issueSecret();
    // Hash outside the transaction: PBKDF2 runs on the thread pool and must not hold the write lock.
    const secretHash = await hashSecret(secret);
    const at = this.now().toISOString();
    const { db } = this.database;
    db.transaction((tx) => {
      const existing = tx.select({ revokedAt: devices.revokedAt }).from(devices).where(eq(devices.id, deviceId)).get();
      if (existing && existing.revokedAt === null) throw new HubError('CONFLICT', `device ${deviceId} already exists`);
      const row = { secretHash, createdAt: at, createdBy: actor, revokedAt: null, status: 'unknown' as const, note: options.note ?? null };
      if (existing) tx.update(devices).set(row).where(eq(devices.id, deviceId)).run();
      else
        tx.insert(devices)
          .values({ id: deviceId, ...row })
          .run();
      const action = existing ? 'device.reissue' : 'device.create';
      tx.insert(auditLog).values({ at, actor, action, subject: deviceId, detail: null }).run();
    }, IMMEDIATE);
    return { deviceId, secret };
  }

  /** Revokes a device's credentials: its next CONNECT is refused. Revoking twice is a no-op. */
  revoke(deviceId: string, actor: string): DeviceRecord {
    const at = this.now().toISOString();
    const { db } = this.database;
    return db.transaction((tx) => {
      const existing = tx.select(columns).from(devices).where(eq(devices.id, deviceId)).get();
      if (!existing) throw new HubError('NOT_FOUND', `no device ${deviceId}`);
      if (existing.revokedAt !== null) return existing;
      tx.update(devices).set({ revokedAt: at }).where(eq(devices.id, deviceId)).run();
      tx.insert(auditLog).values({ at, actor, action: 'device.revoke', subject: deviceId, detail: null }).run();
      return { ...existing, revokedAt: at };
    }, IMMEDIATE);
  }

  get(deviceId: string): DeviceRecord | undefined {
    return this.database.db.select(columns).from(devices).where(eq(devices.id, deviceId)).get();
  }

  /** Devices, newest issuance first, with the total count for paging. */
  list(options: { status?: DeviceStatusFilter; limit: number; offset: number }): { items: DeviceRecord[]; total: number } {
    const where = filterFor(options.status);
    const { db } = this.database;
    const items = db
      .select(columns)
      .from(devices)
      .where(where)
      .orderBy(desc(devices.createdAt), devices.id)
      .limit(options.limit)
      .offset(options.offset)
      .all();
    const total = db.select({ n: count() }).from(devices).where(where).get()?.n ?? 0;
    return { items, total };
  }

  /** Records a connect or disconnect. `lastSeenAt` never moves backwards; unknown ids are ignored. */
  setPresence(deviceId: string, online: boolean, at: string): void {
    this.database.sqlite
      .prepare(`UPDATE devices SET status = ?, last_seen_at = MAX(COALESCE(last_seen_at, ''), ?) WHERE id = ?`)
      .run(online ? 'online' : 'offline', at, deviceId);
  }

  /** Records the model a device reports (`name@version`); audited when it changes. */
  noteModel(deviceId: string, model: string): void {
    const { db } = this.database;
    db.transaction((tx) => {
      const existing = tx.select({ model: devices.model }).from(devices).where(eq(devices.id, deviceId)).get();
      if (!existing || existing.model === model) return;
      tx.update(devices).set({ model }).where(eq(devices.id, deviceId)).run();
      const detail = { from: existing.model, to: model };
      tx.insert(auditLog)
        .values({ at: this.now().toISOString(), actor: `device:${deviceId}`, action: 'device.model', subject: deviceId, detail })
        .run();
    }, IMMEDIATE);
  }

  /** Credentials of every unrevoked device, for generating an external broker's password file. */
  activeCredentials(): Array<{ deviceId: string; secretHash: string }> {
    return this.database.db
      .select({ deviceId: devices.id, secretHash: devices.secretHash })
      .from(devices)
      .where(isNull(devices.revokedAt))
      .orderBy(devices.id)
      .all();
  }

  /** The broker's authenticator over this registry; the hub identity is checked separately. */
  authenticator(hub: { hubUsername: string; hubPassword: string }): BrokerAuthenticator {
    const lookup = this.database.sqlite.prepare<[string], { secretHash: string; revokedAt: string | null }>(
      'SELECT secret_hash AS secretHash, revoked_at AS revokedAt FROM devices WHERE id = ?',
    );
    return createAuthenticator({ ...hub, lookup: (deviceId) => lookup.get(deviceId) });
  }
}

function filterFor(status: DeviceStatusFilter | undefined): SQL | undefined {
  switch (status) {
    case undefined:
      return undefined;
    case 'active':
      return isNull(devices.revokedAt);
    case 'revoked':
      return isNotNull(devices.revokedAt);
    default:
      return and(isNull(devices.revokedAt), eq(devices.status, status));
  }
}
