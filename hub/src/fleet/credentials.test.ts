import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePart } from '@edgeloop/tests/support/ci';
import { afterAll, describe, expect, it } from 'vitest';
import { hashSecret, issueSecret, secretsEqual, verifySecret } from './credentials.js';

const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';

describe('device credentials', () => {
  it('issues 32 random bytes as base64url', () => {
    const secrets = new Set(Array.from({ length: 100 }, issueSecret));
    expect(secrets.size).toBe(100);
    for (const s of secrets) {
      expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(s, 'base64url')).toHaveLength(32);
    }
  });

  it("hashes in Mosquitto's $7$ format with a fresh salt each time", async () => {
    const a = await hashSecret('s3cret');
    const b = await hashSecret('s3cret');
    expect(a).toMatch(/^\$7\$1000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    expect(a).not.toBe(b);
    expect(await verifySecret('s3cret', a)).toBe(true);
    expect(await verifySecret('s3cret', b)).toBe(true);
    expect(await verifySecret('s3cres', a)).toBe(false);
    expect(await verifySecret('', a)).toBe(false);
  });

  it('verifies bytes and strings alike', async () => {
    const secret = issueSecret();
    const hash = await hashSecret(secret);
    expect(await verifySecret(new TextEncoder().encode(secret), hash)).toBe(true);
    expect(await verifySecret(Buffer.from(secret), hash)).toBe(true);
  });

  it('never matches a malformed hash or another scheme', async () => {
    const good = await hashSecret('x');
    const [, , iterations, salt, hash] = good.split('$');
    for (const bad of [
      '',
      'x',
      `$6$${salt}$${hash}`,
      `$7$0$${salt}$${hash}`,
      `$7$99999999$${salt}$${hash}`,
      `$7$${iterations}$$${hash}`,
      `$7$${iterations}$${salt}$${hash!.slice(0, 40)}`,
      `${good}$`,
      ` ${good}`,
    ]) {
      expect(await verifySecret('x', bad), bad).toBe(false);
    }
  });

  it('compares hub passwords in constant time, whatever their lengths', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abcd')).toBe(false);
    expect(secretsEqual(Buffer.from('abc'), 'abc')).toBe(true);
  });
});

const haveMosquittoPasswd = requirePart('mosquitto_passwd', existsSync(MOSQUITTO_PASSWD), 'apt-get install mosquitto');

describe.runIf(haveMosquittoPasswd)('compatibility with mosquitto_passwd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-passwd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies hashes that mosquitto_passwd wrote', async () => {
    const file = join(dir, 'passwd');
    const secret = issueSecret();
    execFileSync(MOSQUITTO_PASSWD, ['-c', '-b', file, 'dev-1', secret]);
    const [username, hash] = readFileSync(file, 'utf8').trim().split(':') as [string, string];
    expect(username).toBe('dev-1');
    expect(hash).toMatch(/^\$7\$/);
    expect(await verifySecret(secret, hash)).toBe(true);
    expect(await verifySecret(`${secret}x`, hash)).toBe(false);
  });
  // The other direction, Mosquitto accepting our hashes, is the auth matrix against a real
  // Mosquitto: every device there connects with a secret hashed by `hashSecret`.
});
