/**
 * The release signing keys: Ed25519, one PKCS#8 PEM file per key, named `<role>-<keyid16>.pem`
 * (0600, in a 0700 directory), so each root key can be carried offline on its own and brought back
 * only to rotate. The online keys (targets, snapshot, timestamp) stay with the hub. Which keys are
 * *current* is decided by the repository's latest root metadata, not by the file names: a key file
 * whose id the root does not list is ignored, so a rotation that stopped half way never signs with
 * the wrong key. Retired keys move to `retired/` for the operator to destroy.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { HubError } from '../errors.js';
import { ROLES, type RoleName } from './metadata.js';

/** A key as root metadata lists it (TUF §4.2). */
export interface PublicKeyJson {
  keytype: 'ed25519';
  scheme: 'ed25519';
  keyval: { public: string };
}

/** An Ed25519 signing key in TUF form; the id is the sha256 of the key's canonical JSON. */
export interface RepoKey {
  readonly id: string;
  readonly publicHex: string;
  toJSON(): PublicKeyJson;
  /** Lowercase hex signature over `data` (the canonical JSON of a `signed` object). */
  sign(data: Uint8Array): string;
  toPem(): string;
}

export function repoKeyFrom(privateKey: KeyObject): RepoKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new HubError('BAD_CONFIG', `not an Ed25519 key: ${privateKey.asymmetricKeyType}`);
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicHex = spki.subarray(spki.length - 32).toString('hex');
  // Canonical JSON (sorted keys, no whitespace, ASCII): exactly what JSON.stringify gives here.
  const canonical = `{"keytype":"ed25519","keyval":{"public":"${publicHex}"},"scheme":"ed25519"}`;
  return {
    id: createHash('sha256').update(canonical).digest('hex'),
    publicHex,
    toJSON: () => ({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicHex } }),
    sign: (data) => sign(null, data, privateKey).toString('hex'),
    toPem: () => privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export function generateKey(): RepoKey {
  return repoKeyFrom(generateKeyPairSync('ed25519').privateKey);
}

export function keyFromPem(pem: string): RepoKey {
  return repoKeyFrom(createPrivateKey(pem));
}

/** Every key file present, by role (root keys may be absent: they live offline). */
export type KeySet = Record<RoleName, RepoKey[]>;

const FILE = /^(root|targets|snapshot|timestamp)-[0-9a-f]{16}\.pem$/;

/** The key files of one repository, in one directory. */
export class KeyDir {
  constructor(readonly dir: string) {}

  /** The file a key is kept in. */
  fileOf(role: RoleName, key: RepoKey): string {
    return join(this.dir, `${role}-${key.id.slice(0, 16)}.pem`);
  }

  /**
   * Creates `rootKeys` root keys and one key for each online role. Refuses a directory that
   * already holds keys: overwriting them would orphan a published repository.
   */
  async init(rootKeys = 1): Promise<KeySet> {
    if (!Number.isInteger(rootKeys) || rootKeys < 1 || rootKeys > 20)
      throw new HubError('BAD_REQUEST', 'the number of root keys must be 1 to 20');
    const existing = await this.files();
    if (existing.length > 0) throw new HubError('CONFLICT', `${this.dir} already holds keys (${existing.join(', ')})`);
    const set: KeySet = { root: [], targets: [], snapshot: [], timestamp: [] };
    for (const role of ROLES) {
      for (let i = 0; i < (role === 'root' ? rootKeys : 1); i++) {
        const key = generateKey();
        await this.save(role, key);
        set[role].push(key);
      }
    }
    return set;
  }

  /** Every key present, grouped by the role its file name gives. */
  async load(): Promise<KeySet> {
    const set: KeySet = { root: [], targets: [], snapshot: [], timestamp: [] };
    for (const name of await this.files()) {
      const role = name.slice(0, name.indexOf('-')) as RoleName;
      try {
        set[role].push(keyFromPem(await readFile(join(this.dir, name), 'utf8')));
      } catch (cause) {
        throw new HubError('BAD_CONFIG', `cannot read the key ${join(this.dir, name)}`, { cause });
      }
    }
    return set;
  }

  /** Writes a key durably (temporary file, fsync, rename), readable by its owner only. */
  async save(role: RoleName, key: RepoKey): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const dest = this.fileOf(role, key);
    const tmp = `${dest}.tmp`;
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(key.toPem());
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, 0o600); // `open`'s mode applies only on creation: a leftover temporary file keeps its own
    await rename(tmp, dest);
    await syncDir(this.dir);
    return dest;
  }

  /** Moves a key that no root lists any more to `retired/` (destroy it there once devices updated). */
  async retire(role: RoleName, key: RepoKey): Promise<void> {
    const retired = join(this.dir, 'retired');
    await mkdir(retired, { recursive: true, mode: 0o700 });
    const from = this.fileOf(role, key);
    await rename(from, join(retired, from.slice(this.dir.length + 1))).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await syncDir(this.dir);
  }

  private async files(): Promise<string[]> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    return names.filter((n) => FILE.test(n)).sort();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
