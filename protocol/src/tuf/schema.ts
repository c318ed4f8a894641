/**
 * The form of TUF metadata (specification §4), checked with zod before any signature is: a file
 * that does not fit is refused as `TUF_BAD_METADATA`. Unknown fields are allowed (§4: clients
 * ignore them) and stay in the raw object the signatures are checked over.
 */
import { z } from 'zod';

export type RoleName = 'root' | 'timestamp' | 'snapshot' | 'targets';

const HEX64 = /^[0-9a-f]{64}$/;
/** §4.2 key ids and signatures are lowercase hex; `AB` and `ab` decode alike, so only one form is accepted. */
const LOWER_HEX = /^(?:[0-9a-f]{2})*$/;
/** §4.2.1 `expires`: ISO 8601 UTC to the second, `YYYY-MM-DDTHH:MM:SSZ`. */
const EXPIRES = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const Version = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const Length = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const KeyId = z.string().regex(HEX64, 'a key id is 64 lowercase hex characters');

/** `spec_version` `1.x` or `1.x.y`: this client implements major version 1 (§4.2.1). */
const SpecVersion = z.string().regex(/^1\.\d+(?:\.\d+)?$/, 'spec_version must be 1.x(.y)');
const Expires = z
  .string()
  .regex(EXPIRES, 'expires must be YYYY-MM-DDTHH:MM:SSZ')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'expires is not a date');

/** §4.1 the envelope: `signed` (checked per role) and the signatures over its canonical form. */
export const EnvelopeSchema = z.object({
  signed: z.record(z.string(), z.unknown()),
  signatures: z.array(z.object({ keyid: KeyId, sig: z.string().regex(LOWER_HEX, 'a signature is lowercase hex') })),
});

const common = <T extends RoleName>(type: T) => ({
  _type: z.literal(type),
  spec_version: SpecVersion,
  version: Version,
  expires: Expires,
});

/** §4.2 a public key: this client verifies Ed25519 only, the hub's one scheme. */
export const KeySchema = z.object({
  keytype: z.literal('ed25519'),
  scheme: z.literal('ed25519'),
  keyval: z.object({ public: z.string().regex(HEX64, 'an Ed25519 public key is 64 lowercase hex characters') }),
});

/** A role's authorised key ids and how many of them must sign (§4.3). */
export const RoleKeysSchema = z.object({ keyids: z.array(KeyId), threshold: z.number().int().min(1) });
export type RoleKeys = z.infer<typeof RoleKeysSchema>;

/**
 * §4.3 root. `consistent_snapshot` must be true: this client fetches `<version>.<role>.json` and
 * hash-prefixed targets only (§5.5.1, §5.6.1, §5.7.3), as the hub publishes them.
 */
export const RootSchema = z.object({
  ...common('root'),
  consistent_snapshot: z.literal(true),
  keys: z.record(KeyId, KeySchema),
  roles: z.object({ root: RoleKeysSchema, timestamp: RoleKeysSchema, snapshot: RoleKeysSchema, targets: RoleKeysSchema }),
});
export type RootSigned = z.infer<typeof RootSchema>;

/** §4.4 what a snapshot or timestamp says of a metadata file; `hashes`, when given, must hold sha256. */
export const MetaFileSchema = z.object({
  version: Version,
  length: Length.optional(),
  hashes: z.object({ sha256: z.string().regex(HEX64) }).optional(),
});
export type MetaFile = z.infer<typeof MetaFileSchema>;

/** §4.6 timestamp: names exactly the snapshot. */
export const TimestampSchema = z.object({ ...common('timestamp'), meta: z.object({ 'snapshot.json': MetaFileSchema }) });
export type TimestampSigned = z.infer<typeof TimestampSchema>;

/** §4.4 snapshot: the version of every targets metadata file, the top-level one required. */
export const SnapshotSchema = z.object({
  ...common('snapshot'),
  meta: z.record(z.string(), MetaFileSchema).refine((m) => m['targets.json'] !== undefined, 'the snapshot must list targets.json'),
});
export type SnapshotSigned = z.infer<typeof SnapshotSchema>;

/** §4.5 a target: its length and sha256 (this client verifies targets by sha256 only). */
export const TargetFileSchema = z.object({
  length: Length,
  hashes: z.object({ sha256: z.string().regex(HEX64) }),
  custom: z.unknown().optional(),
});

/** §4.5 targets. Delegations are not followed (the hub makes none): no delegated role is trusted. */
export const TargetsSchema = z.object({ ...common('targets'), targets: z.record(z.string(), TargetFileSchema) });
export type TargetsSigned = z.infer<typeof TargetsSchema>;

export const SIGNED_SCHEMAS = { root: RootSchema, timestamp: TimestampSchema, snapshot: SnapshotSchema, targets: TargetsSchema } as const;
export type SignedOf<R extends RoleName> = z.infer<(typeof SIGNED_SCHEMAS)[R]>;
