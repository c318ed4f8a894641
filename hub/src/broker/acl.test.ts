import { describe, expect, it } from 'vitest';
import { type BrokerIdentity, mayPublish, maySubscribe } from './acl.js';

const A: BrokerIdentity = { kind: 'device', deviceId: 'dev-a' };
const HUB: BrokerIdentity = { kind: 'hub' };
const t = (id: string, channel: string) => `edgeloop/v1/devices/${id}/${channel}`;

describe('broker ACL (default deny)', () => {
  it('lets a device publish only its own samples, telemetry and status', () => {
    for (const c of ['samples', 'telemetry', 'status']) expect(mayPublish(A, t('dev-a', c))).toBe(true);
    for (const c of ['acks', 'config', 'other']) expect(mayPublish(A, t('dev-a', c))).toBe(false);
    expect(mayPublish(A, t('dev-b', 'samples'))).toBe(false);
    for (const topic of [
      'edgeloop/v1/models/m/announce',
      '$SYS/x',
      'edgeloop/v1/devices/dev-a/samples/x',
      'edgeloop/v1/devices/dev-a',
      '',
    ]) {
      expect(mayPublish(A, topic), topic).toBe(false);
    }
  });

  it('lets a device subscribe only to its own acks and config, and announcements', () => {
    expect(maySubscribe(A, t('dev-a', 'acks'))).toBe(true);
    expect(maySubscribe(A, t('dev-a', 'config'))).toBe(true);
    expect(maySubscribe(A, 'edgeloop/v1/models/+/announce')).toBe(true);
    expect(maySubscribe(A, 'edgeloop/v1/models/digits/announce')).toBe(true);
    for (const f of [
      t('dev-b', 'acks'),
      t('+', 'acks'),
      t('dev-a', '+'),
      t('dev-a', '#'),
      t('dev-a', 'samples'),
      'edgeloop/v1/devices/#',
      'edgeloop/#',
      '#',
      '+/+/+/+/+',
      '$SYS/#',
      '$share/g/edgeloop/v1/devices/dev-a/acks',
      'edgeloop/v1/models/#',
    ]) {
      expect(maySubscribe(A, f), f).toBe(false);
    }
  });

  it('lets the hub write acks, configs and announcements, and read device channels', () => {
    expect(mayPublish(HUB, t('dev-a', 'acks'))).toBe(true);
    expect(mayPublish(HUB, t('dev-a', 'config'))).toBe(true);
    expect(mayPublish(HUB, 'edgeloop/v1/models/digits/announce')).toBe(true);
    expect(mayPublish(HUB, t('dev-a', 'samples'))).toBe(false);
    expect(mayPublish(HUB, '$SYS/x')).toBe(false);
    for (const c of ['samples', 'telemetry', 'status']) {
      expect(maySubscribe(HUB, t('+', c))).toBe(true);
      expect(maySubscribe(HUB, t('dev-a', c))).toBe(true);
      expect(maySubscribe(HUB, `$share/edgeloop-hub/${t('+', c)}`)).toBe(true);
    }
    for (const f of [
      '#',
      '$SYS/#',
      t('+', 'acks'),
      t('+', '+'),
      'edgeloop/v1/devices/#',
      '$share//edgeloop/v1/devices/+/samples',
      '$share/g+/x',
    ]) {
      expect(maySubscribe(HUB, f), f).toBe(false);
    }
  });

  it('denies everything without an identity', () => {
    expect(mayPublish(undefined, t('dev-a', 'samples'))).toBe(false);
    expect(maySubscribe(undefined, 'edgeloop/v1/models/+/announce')).toBe(false);
  });
});
