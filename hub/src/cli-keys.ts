/**
 * `edgeloop-hub keys …`: the release signing keys and the root of the TUF repository (see
 * `docs/releases.md`). These are the only commands that need the root keys; run them on the
 * machine (or with the media) that holds them, against the hub's object store (`--objects`).
 *
 *   keys init [--dir D] [--root-keys N] [--root-threshold T] [--out root.json]
 *   keys rotate-root [--dir D] [--root-keys N] [--root-threshold T]
 *   keys renew-root [--dir D]
 *   keys rotate-timestamp [--dir D]
 *   keys status [--dir D]
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandContext, CommandResult } from './cli-commands.js';
import { HubError } from './errors.js';
import { generateKey, KeyDir, type KeySet } from './releases/keys.js';
import { ReleaseRepository } from './releases/repository.js';

type KeyCommand = (ctx: CommandContext) => Promise<CommandResult>;

function keyDirOf(ctx: CommandContext): KeyDir {
  return new KeyDir(ctx.flags.dir ?? join(ctx.flags['data-dir'] ?? './.edgeloop', 'keys'));
}

async function repositoryOf(ctx: CommandContext): Promise<ReleaseRepository> {
  return new ReleaseRepository({ store: await ctx.store(), keyDir: keyDirOf(ctx), log: ctx.log });
}

function describeKeys(dir: KeyDir, keys: KeySet) {
  return Object.fromEntries(
    Object.entries(keys).map(([role, list]) => [role, list.map((k) => ({ id: k.id, file: dir.fileOf(role as never, k) }))]),
  );
}

async function status(ctx: CommandContext): Promise<CommandResult> {
  const repo = await repositoryOf(ctx);
  const state = await repo.state();
  if (!state) return { output: { initialised: false, keysDir: repo.keyDir.dir } };
  const { signed } = state.root;
  const present = await repo.keyDir.load();
  const roles = Object.fromEntries(
    Object.entries(signed.roles).map(([role, r]) => {
      const have = new Set(present[role as keyof KeySet].map((k) => k.id));
      return [role, { threshold: r.threshold, keyids: r.keyids, presentHere: r.keyids.filter((id) => have.has(id)).length }];
    }),
  );
  const versions = Object.fromEntries(
    (['root', 'targets', 'snapshot', 'timestamp'] as const).map((r) => [r, { version: state[r].version, expires: state[r].expires }]),
  );
  return { output: { initialised: true, keysDir: repo.keyDir.dir, versions, roles } };
}

export const KEY_COMMANDS: Record<string, KeyCommand> = {
  'keys init': async (ctx) => {
    const repo = await repositoryOf(ctx);
    const keys = await repo.keyDir.init(ctx.flags.rootKeys ?? 1);
    const versions = await repo.initialise({ rootThreshold: ctx.flags.rootThreshold ?? 1 });
    if (ctx.flags.out) await writeFile(ctx.flags.out, await repo.rootFile(1));
    return {
      output: {
        keysDir: repo.keyDir.dir,
        keys: describeKeys(repo.keyDir, keys),
        rootThreshold: ctx.flags.rootThreshold ?? 1,
        versions,
        trustedRoot: ctx.flags.out ?? `${repo.paths.metadata('root', 1)} in the object store (served at /tuf/metadata/1.root.json)`,
      },
    };
  },
  'keys rotate-root': async (ctx) => {
    const repo = await repositoryOf(ctx);
    const state = await repo.state();
    const count = ctx.flags.rootKeys ?? state?.root.signed.roles.root.keyids.length ?? 1;
    if (count < 1) throw new HubError('BAD_REQUEST', '--root-keys must be at least 1');
    const fresh = Array.from({ length: count }, generateKey);
    const versions = await repo.rotateRoot(fresh, ctx.flags.rootThreshold);
    return {
      output: {
        versions,
        rootKeys: fresh.map((k) => ({ id: k.id, file: repo.keyDir.fileOf('root', k) })),
        retiredTo: join(repo.keyDir.dir, 'retired'),
      },
    };
  },
  'keys renew-root': async (ctx) => ({ output: { versions: await (await repositoryOf(ctx)).rotateRoot('keep') } }),
  'keys rotate-timestamp': async (ctx) => ({ output: { versions: await (await repositoryOf(ctx)).rotateOnlineKey('timestamp') } }),
  'keys status': status,
};
