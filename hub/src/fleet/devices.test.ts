import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpenDatabase, openDatabase } from '../db/open.js';
import { HubError } from '../errors.js';
import { DeviceRegistry } from './devices.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('DeviceRegistry', () => {
  let dir: string;
  let database: OpenDatabase;
  let registry: DeviceRegistry;
  let clock: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloop-devices-'));
    database = openDatabase(join(dir, 'hub.db'));
    clock = Date.parse('2026-01-01T00:00:00.000Z');
    registry = new DeviceRegistry(database, {
      now: () => {
        clock += 1000;
        return new Date(clock);
      },
    });
  });
  afterEach(() => {
    database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const audit = () => database.sqlite.prepare('SELECT actor, action, subject FROM audit_log ORDER BY id').all();

  it('issues a secret once and stores only its hash', async () => {
    const { deviceId, secret } = await registry.create('cam-1', 'alice', { note: 'door' });
    expect(deviceId).toBe('cam-1');
    const row = database.sqlite.prepare('SELECT * FROM devices').get() as Record<string, unknown>;
    expect(row.secret_hash).toMatch(/^\$7\$/);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(registry.get('cam-1')).toMatchObject({ id: 'cam-1', createdBy: 'alice', revokedAt: null, status: 'unknown', note: 'door' });
    expect(registry.get('cam-1')).not.toHaveProperty('secretHash');
    expect(audit()).toEqual([{ actor: 'alice', action: 'device.create', subject: 'cam-1' }]);
  });

  it('refuses invalid ids and duplicates, and re-issues a revoked device with a new secret', async () => {
    await expect(registry.create('bad/id', 'alice')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(registry.create('+', 'alice')).rejects.toBeInstanceOf(HubError);
    const first = await registry.create('cam-1', 'alice');
    await expect(registry.create('cam-1', 'bob')).rejects.toMatchObject({ code: 'CONFLICT' });
    const revoked = registry.revoke('cam-1', 'bob');
    expect(revoked.revokedAt).not.toBeNull();
    // Revoking again changes nothing and writes no second audit row.
    expect(registry.revoke('cam-1', 'bob').revokedAt).toBe(revoked.revokedAt);
    const second = await registry.create('cam-1', 'carol');
    expect(second.secret).not.toBe(first.secret);
    expect(registry.get('cam-1')).toMatchObject({ revokedAt: null, createdBy: 'carol' });
    expect(() => registry.revoke('nope', 'bob')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(audit().map((a) => (a as { action: string }).action)).toEqual(['device.create', 'device.revoke', 'device.reissue']);
  });

  it('lists with filters and paging', async () => {
    for (const id of ['a', 'b', 'c', 'd']) await registry.create(id, 'alice');
    registry.revoke('b', 'alice');
    registry.setPresence('c', true, '2026-01-02T00:00:00.000Z');
    registry.setPresence('d', false, '2026-01-02T00:00:00.000Z');
    const ids = (status?: Parameters<DeviceRegistry['list']>[0]['status']) =>
      registry.list({ status, limit: 10, offset: 0 }).items.map((d) => d.id);
    expect(ids()).toEqual(['d', 'c', 'b', 'a']);
    expect(ids('active')).toEqual(['d', 'c', 'a']);
    expect(ids('revoked')).toEqual(['b']);
    expect(ids('online')).toEqual(['c']);
    expect(ids('offline')).toEqual(['d']);
    expect(ids('unknown')).toEqual(['a']);
    expect(registry.list({ limit: 2, offset: 1 })).toMatchObject({ total: 4, items: [{ id: 'c' }, { id: 'b' }] });
  });

  it('records presence without moving last-seen backwards, and audits model changes', async () => {
    await registry.create('cam-1', 'alice');
    registry.setPresence('cam-1', true, '2026-01-02T00:00:05.000Z');
    registry.setPresence('cam-1', false, '2026-01-02T00:00:01.000Z');
    expect(registry.get('cam-1')).toMatchObject({ status: 'offline', lastSeenAt: '2026-01-02T00:00:05.000Z' });
    registry.setPresence('ghost', true, '2026-01-02T00:00:00.000Z');
    expect(registry.get('ghost')).toBeUndefined();
    registry.noteModel('cam-1', 'digits@3');
    registry.noteModel('cam-1', 'digits@3');
    registry.noteModel('cam-1', 'digits@4');
    expect(registry.get('cam-1')?.model).toBe('digits@4');
    expect(audit().filter((a) => (a as { action: string }).action === 'device.model')).toHaveLength(2);
  });

  it('lists active credentials for an external broker', async () => {
    await registry.create('a', 'alice');
    await registry.create('b', 'alice');
    registry.revoke('a', 'alice');
    expect(registry.activeCredentials()).toEqual([{ deviceId: 'b', secretHash: expect.stringMatching(/^\$7\$/) }]);
  });

  describe('authenticator', () => {
    const hub = { hubUsername: 'edgeloop-hub', hubPassword: 'hub-pass' };

    it('knows devices, the hub, and nobody else', async () => {
      const auth = registry.authenticator(hub);
      const { secret } = await registry.create('cam-1', 'alice');
      expect(await auth.authenticate('cam-1', bytes(secret))).toEqual({ kind: 'device', deviceId: 'cam-1' });
      expect(await auth.authenticate('cam-1', bytes(`${secret}x`))).toBeUndefined();
      expect(await auth.authenticate('cam-1', undefined)).toBeUndefined();
      expect(await auth.authenticate('cam-2', bytes(secret))).toBeUndefined();
      expect(await auth.authenticate('edgeloop-hub', bytes('hub-pass'))).toEqual({ kind: 'hub' });
      expect(await auth.authenticate('edgeloop-hub', bytes(secret))).toBeUndefined();
      expect(await auth.authenticate('', bytes(secret))).toBeUndefined();
      // An empty hub password disables the hub identity.
      const noHub = registry.authenticator({ hubUsername: 'edgeloop-hub', hubPassword: '' });
      expect(await noHub.authenticate('edgeloop-hub', bytes(''))).toBeUndefined();
    });

    it('sees a revocation and a re-issue on the very next connect, cache or not', async () => {
      const auth = registry.authenticator(hub);
      const { secret } = await registry.create('cam-1', 'alice');
      expect(await auth.authenticate('cam-1', bytes(secret))).toBeDefined();
      expect(await auth.authenticate('cam-1', bytes(secret))).toBeDefined();
      registry.revoke('cam-1', 'bob');
      expect(await auth.authenticate('cam-1', bytes(secret))).toBeUndefined();
      const reissued = await registry.create('cam-1', 'bob');
      expect(await auth.authenticate('cam-1', bytes(secret))).toBeUndefined();
      expect(await auth.authenticate('cam-1', bytes(reissued.secret))).toEqual({ kind: 'device', deviceId: 'cam-1' });
    });
  });
});
