/**
 * The client's configuration: what the hub publishes at `/client-config.json` (validated here, at
 * the boundary, as untrusted input) plus local limits, with {@link defaultConfig} beside it.
 */
import { ModelNameSchema, SamplingConfigSchema } from '@edgeloop/protocol';
import { z } from 'zod';
import { ClientError } from './errors.js';

/** `GET /client-config.json`: the hub's contract with this app (see README). */
export const ClientConfigSchema = z.object({
  v: z.literal(1),
  model: ModelNameSchema.nullable(),
  tuf: z.object({ base: z.string().min(1).max(512), initialRoot: z.string().min(1).max(512) }),
  mqtt: z.object({ url: z.string().regex(/^wss?:\/\//, 'mqtt.url must be ws:// or wss://') }).nullable(),
  registerUrl: z.string().min(1).max(512),
  sampling: SamplingConfigSchema.nullable(),
  updatePollSeconds: z.number().int().min(10).max(604_800),
});
export type ClientConfig = z.infer<typeof ClientConfigSchema>;

/** Local limits; none of these come from the network. */
export interface LocalLimits {
  /** The outbox's caps: oldest non-corrections are dropped beyond them. */
  outboxMaxEntries: number;
  outboxMaxBytes: number;
  /** Most frames in flight (published, PUBACK not yet seen) at once. */
  inflight: number;
  /** Largest TUF metadata file and model accepted (the size cap comes first, TUF §5.2.2). */
  maxMetadataBytes: number;
  maxModelBytes: number;
  /** Delay after a stroke ends before the drawing is classified. */
  classifyDelayMs: number;
}

export const defaultLimits: LocalLimits = {
  outboxMaxEntries: 500,
  outboxMaxBytes: 50 * 1024 * 1024,
  inflight: 16,
  maxMetadataBytes: 1024 * 1024,
  maxModelBytes: 64 * 1024 * 1024,
  classifyDelayMs: 350,
};

/** Used offline when no copy of the hub's config was ever stored: classify only, nothing to sync. */
export const defaultClientConfig: ClientConfig = {
  v: 1,
  model: null,
  tuf: { base: '/tuf/', initialRoot: '/tuf/1.root.json' },
  mqtt: null,
  registerUrl: '/browser/register',
  sampling: null,
  updatePollSeconds: 300,
};

/** Decodes the hub's client config; throws `CONFIG_INVALID` naming the first bad field. */
export function parseClientConfig(json: unknown): ClientConfig {
  const parsed = ClientConfigSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ClientError('CONFIG_INVALID', `client-config.json: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`);
}

/** Resolves a path from the config against the page, so a relative `/tuf/` means this origin. */
export function resolveUrl(path: string, base: string = location.href): string {
  return new URL(path, base).href;
}
