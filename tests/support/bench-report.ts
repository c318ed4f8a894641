/** Shared output for the models benchmarks: a table for people, JSON in bench-results/ for tracking. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;

/** Where this machine is, so figures from different machines are never compared by mistake. */
export function machine() {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` };
}

export function printTable(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((s, i) => s.padEnd(width[i]!)).join('  ');
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c] ?? ''))));
}

export function writeResults(name: string, data: object): string {
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ generatedAt: new Date().toISOString(), machine: machine(), ...data }, null, 2)}\n`);
  return file;
}

/** Runs a TypeScript worker in its own process (one tfjs backend per process) and parses its last JSON line. */
export function runWorker(script: string, args: string[], timeoutMs = 600_000, env: NodeJS.ProcessEnv = {}): Record<string, unknown> {
  const out = execFileSync(process.execPath, ['--conditions=@edgeloop/source', '--import', 'tsx', join(ROOT, script), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const last = out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!last) throw new Error(`${script} printed no JSON`);
  return JSON.parse(last) as Record<string, unknown>;
}

/** The middle value (the upper one of an even count), NaN for none. */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null);
