/**
 * The commands of `edgeloop-hub` (see `cli.ts`): each takes its positionals and flags and the
 * opened resources, and returns what to print plus an exit code.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { KEY_COMMANDS } from './cli-keys.js';
import { type ImportSource, importDataset } from './datasets/import.js';
import { checkDataset } from './datasets/integrity.js';
import { createSnapshot, diffDatasets, exportManifest, getDataset, listDatasets } from './datasets/snapshot.js';
import type { OpenDatabase } from './db/open.js';
import { DeviceRegistry, type DeviceStatusFilter } from './fleet/devices.js';
import type { Logger } from './log.js';
import type { ObjectStore } from './storage/object-store.js';

/** A wrong command line: exit code 2 and the usage text. */
export class UsageError extends Error {}

export interface CommandContext {
  args: string[];
  flags: {
    actor: string;
    perClass?: number;
    labels?: string[];
    name?: string;
    note?: string;
    parent?: string;
    limit?: number;
    offset?: number;
    out?: string;
    status?: string;
    /** `keys …`: the key directory (default `<data-dir>/keys`), root key count and threshold. */
    dir?: string;
    'data-dir'?: string;
    rootKeys?: number;
    rootThreshold?: number;
  };
  database: OpenDatabase;
  /** Opened on first use: device commands never touch the object store. */
  store: () => Promise<ObjectStore>;
  log: Logger;
  progress: (done: number, total: number, phase?: string) => void;
}

export interface CommandResult {
  /** Printed as JSON on stdout, when defined. */
  output?: unknown;
  code?: number;
}

type Command = (ctx: CommandContext) => Promise<CommandResult>;

const need = (value: string | undefined, what: string): string => {
  if (!value) throw new UsageError(`missing ${what}`);
  return value;
};

async function importCommand(kind: ImportSource['kind'], ctx: CommandContext): Promise<CommandResult> {
  const {
    args: [arg],
    flags,
    database,
    store,
    log,
    progress,
  } = ctx;
  let source: ImportSource;
  if (kind === 'folder') source = { kind, path: need(arg, '<path>') };
  else if (kind === 'csv') source = { kind, csv: await readFile(need(arg, '<file>'), 'utf8') };
  else source = { kind, perClass: flags.perClass };
  const deps = { db: database, store: await store(), log };
  const { sampleIds: _ids, ...report } = await importDataset(deps, source, {
    actor: flags.actor,
    labels: flags.labels,
    onProgress: progress,
  });
  return { output: report };
}

const DEVICE_STATUS = new Set(['active', 'revoked', 'online', 'offline', 'unknown']);

/** `group sub` → handler. */
export const COMMANDS: Record<string, Command> = {
  'import folder': (ctx) => importCommand('folder', ctx),
  'import csv': (ctx) => importCommand('csv', ctx),
  'import mnist': (ctx) => importCommand('mnist', ctx),
  snapshot: async ({ flags, database }) => ({
    output: createSnapshot(
      { db: database },
      { name: need(flags.name, '--name'), actor: flags.actor, labels: flags.labels, note: flags.note, parentId: flags.parent },
    ),
  }),
  'datasets list': async ({ database }) => ({ output: listDatasets({ db: database }) }),
  'datasets show': async ({ args: [id], flags, database }) => ({
    output: getDataset({ db: database }, need(id, '<id>'), { limit: flags.limit ?? 100, offset: flags.offset ?? 0 }),
  }),
  'datasets diff': async ({ args: [a, b], flags, database }) => ({
    output: diffDatasets({ db: database }, need(a, '<a>'), need(b, '<b>'), { limit: flags.limit }),
  }),
  'datasets check': async ({ args: [id], database, store, progress }) => {
    const report = await checkDataset({ db: database, store: await store() }, need(id, '<id>'), { onProgress: progress });
    return { output: report, code: report.ok ? 0 : 1 };
  },
  'datasets export': async ({ args: [id], flags, database }) => {
    const manifest = exportManifest({ db: database }, need(id, '<id>'));
    if (!flags.out) return { output: manifest };
    await writeFile(flags.out, `${JSON.stringify(manifest)}\n`);
    return {};
  },
  // The secret is printed once, here; the hub keeps only its hash.
  'devices create': async ({ args: [id], flags, database }) => ({
    output: await new DeviceRegistry(database).create(need(id, '<id>'), flags.actor, { note: flags.note }),
  }),
  'devices revoke': async ({ args: [id], flags, database }) => ({
    output: new DeviceRegistry(database).revoke(need(id, '<id>'), flags.actor),
  }),
  'devices list': async ({ flags, database }) => {
    if (flags.status !== undefined && !DEVICE_STATUS.has(flags.status))
      throw new UsageError(`--status must be one of ${[...DEVICE_STATUS].join(', ')}`);
    const status = flags.status as DeviceStatusFilter | undefined;
    return { output: new DeviceRegistry(database).list({ status, limit: flags.limit ?? 1000, offset: flags.offset ?? 0 }) };
  },
  ...KEY_COMMANDS,
};

/** The handler for the positionals, and the positionals left for it. */
export function findCommand(positionals: string[]): { command: Command; args: string[] } | undefined {
  const [group, sub, ...rest] = positionals;
  // Own keys only: `toString` on the command line must not find Object.prototype's.
  if (Object.hasOwn(COMMANDS, `${group} ${sub}`)) return { command: COMMANDS[`${group} ${sub}`]!, args: rest };
  if (group !== undefined && Object.hasOwn(COMMANDS, group)) return { command: COMMANDS[group]!, args: positionals.slice(1) };
  return undefined;
}
