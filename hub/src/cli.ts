#!/usr/bin/env node
/**
 * `edgeloop-hub`: chores on a hub's data directory without a running hub (datasets, devices).
 * Configuration comes from flags only (`--data-dir`, `--db`, `--objects`); results are JSON on
 * stdout, progress and errors go to stderr. Exit codes: 0 done, 1 failed, 2 bad usage.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type CommandContext, findCommand, UsageError } from './cli-commands.js';
import { configFor } from './config.js';
import { openDatabase } from './db/open.js';
import { HubError } from './errors.js';
import { createLogger } from './log.js';
import type { ObjectStore } from './storage/object-store.js';
import { openObjectStore } from './storage/open-object-store.js';

export const USAGE = `usage: edgeloop-hub <command> [options]
  import folder <path> | import csv <file> | import mnist [--per-class N]   [--labels a,b]
  snapshot --name <name> [--labels a,b] [--note <text>] [--parent <id>]
  datasets list | show <id> [--limit N] [--offset N] | diff <a> <b> [--limit N] | check <id> | export <id> [--out <file>]
  devices create <id> [--note <text>] | revoke <id> | list [--status active|revoked|online|offline|unknown]
  keys init [--root-keys N] [--root-threshold T] [--out root.json] | rotate-root [--root-keys N] [--root-threshold T] | renew-root | rotate-timestamp | status   [--dir <keys dir> (default <data-dir>/keys)]
options: --data-dir <dir> (default ./.edgeloop)  --db <file>  --objects <file://... | s3://...>  --actor <name> (default cli)
`;

const OPTIONS = {
  'data-dir': { type: 'string', default: './.edgeloop' },
  db: { type: 'string' },
  objects: { type: 'string' },
  actor: { type: 'string', default: 'cli' },
  'per-class': { type: 'string' },
  labels: { type: 'string' },
  name: { type: 'string' },
  note: { type: 'string' },
  parent: { type: 'string' },
  limit: { type: 'string' },
  offset: { type: 'string' },
  out: { type: 'string' },
  status: { type: 'string' },
  dir: { type: 'string' },
  'root-keys': { type: 'string' },
  'root-threshold': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const parse = (argv: string[]) => parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });

function int(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${what} must be a non-negative integer`);
  return Number(value);
}

/** Prints `read 120/500`-style lines at most every 5% (and at the end) of each phase. */
function progressPrinter(io: CliIo) {
  const last = new Map<string, number>();
  return (done: number, total: number, phase = 'progress') => {
    const step = Math.max(1, Math.ceil(total / 20));
    if (done === total || done - (last.get(phase) ?? 0) >= step) {
      last.set(phase, done);
      io.stderr.write(`${phase} ${done}/${total}\n`);
    }
  };
}

/** Runs one command line; returns the exit code. */
export async function runCli(argv: string[], io: CliIo = process): Promise<number> {
  const fail = (message: string, usage: boolean) => {
    io.stderr.write(`edgeloop-hub: ${message}\n${usage ? USAGE : ''}`);
    return usage ? 2 : 1;
  };
  let v: ReturnType<typeof parse>['values'];
  let found: ReturnType<typeof findCommand>;
  let flags: CommandContext['flags'];
  try {
    const parsed = parse(argv);
    v = parsed.values;
    if (v.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    found = findCommand(parsed.positionals);
    if (!found) return fail(`unknown command: ${parsed.positionals.join(' ') || '(none)'}`, true);
    const labels = v.labels
      ?.split(',')
      .map((l) => l.trim())
      .filter(Boolean);
    flags = {
      ...v,
      labels,
      perClass: int(v['per-class'], '--per-class'),
      limit: int(v.limit, '--limit'),
      offset: int(v.offset, '--offset'),
      rootKeys: int(v['root-keys'], '--root-keys'),
      rootThreshold: int(v['root-threshold'], '--root-threshold'),
    };
  } catch (error) {
    return fail((error as Error).message, true);
  }
  const config = configFor(v['data-dir']);
  let database: ReturnType<typeof openDatabase>;
  try {
    database = openDatabase(v.db ?? config.databasePath);
  } catch (error) {
    return fail((error as Error).message, false);
  }
  let store: Promise<ObjectStore> | undefined;
  const context: CommandContext = {
    args: found.args,
    flags,
    database,
    store: () => (store ??= openObjectStore(v.objects ?? config.objectStoreUrl)),
    log: createLogger('warn', io.stderr as NodeJS.WritableStream),
    progress: progressPrinter(io),
  };
  try {
    const result = await found.command(context);
    if (result.output !== undefined) io.stdout.write(`${JSON.stringify(result.output, null, 2)}\n`);
    return result.code ?? 0;
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message, true);
    const code = error instanceof HubError ? `${error.code}: ` : '';
    return fail(`${code}${error instanceof Error ? error.message : String(error)}`, false);
  } finally {
    await (await store?.catch(() => undefined))?.close();
    database.close();
  }
}

// Run when executed (through the npm bin symlink too), not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`edgeloop-hub: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
