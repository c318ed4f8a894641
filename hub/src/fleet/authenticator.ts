/**
 * Broker authentication over the device registry. The username is the device id; the hub's own
 * identity is a separate username with its own password and never matches a device row.
 *
 * The device row is read on every CONNECT, so a revocation or a re-issue takes effect on the very
 * next connect. Only the PBKDF2 step is cached, and only as "this exact stored hash was verified
 * against a secret with this SHA-256": a changed hash (re-issue) or a revoked row never hits it.
 */

import { timingSafeEqual } from 'node:crypto';
import { isDeviceId } from '@edgeloop/protocol';
import type { BrokerAuthenticator } from '../broker/hub-broker.js';
import { secretDigest, secretsEqual, verifySecret } from './credentials.js';

export interface AuthenticatorOptions {
  hubUsername: string;
  /** Empty disables the hub identity (nobody can connect as the hub). */
  hubPassword: string;
  /** The device's stored hash and revocation time, or `undefined` if it is unknown. */
  lookup(deviceId: string): { secretHash: string; revokedAt: string | null } | undefined;
  /** Verified (device, hash) pairs remembered; bounded so that memory stays flat. */
  cacheSize?: number;
}

export function createAuthenticator(options: AuthenticatorOptions): BrokerAuthenticator {
  const cacheSize = options.cacheSize ?? 4096;
  const verified = new Map<string, { secretHash: string; digest: Buffer }>();

  const remember = (deviceId: string, secretHash: string, digest: Buffer) => {
    verified.delete(deviceId);
    verified.set(deviceId, { secretHash, digest });
    if (verified.size > cacheSize) verified.delete(verified.keys().next().value as string);
  };

  return {
    async authenticate(username, password) {
      if (password === undefined || password.byteLength === 0) return undefined;
      if (username === options.hubUsername) {
        return options.hubPassword !== '' && secretsEqual(password, options.hubPassword) ? { kind: 'hub' } : undefined;
      }
      if (!isDeviceId(username)) return undefined;
      const row = options.lookup(username);
      if (!row || row.revokedAt !== null) return undefined;
      const digest = secretDigest(password);
      const cached = verified.get(username);
      if (cached && cached.secretHash === row.secretHash && timingSafeEqual(cached.digest, digest)) {
        return { kind: 'device', deviceId: username };
      }
      if (!(await verifySecret(password, row.secretHash))) return undefined;
      // A revocation or re-issue that landed while PBKDF2 ran wins.
      const after = options.lookup(username);
      if (!after || after.revokedAt !== null || after.secretHash !== row.secretHash) return undefined;
      remember(username, row.secretHash, digest);
      return { kind: 'device', deviceId: username };
    },
  };
}
