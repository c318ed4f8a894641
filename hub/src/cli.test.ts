import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

describe('edgeloop-hub CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloop-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports MNIST, snapshots, lists, diffs, checks and exports through flags only', async () => {
    const data = ['--data-dir', dir];
    const imported = await cli('import', 'mnist', '--per-class', '2', ...data);
    expect(imported.code).toBe(0);
    expect(imported.json()).toMatchObject({ imported: 20, duplicates: 0, problems: [] });
    expect(imported.stderr).toMatch(/^read 20\/20$/m);
    expect(imported.stderr).toMatch(/^store 20\/20$/m);

    const a = await cli('snapshot', '--name', 'digits', '--labels', '0,1,2', '--actor', 'ci', ...data);
    expect(a.code).toBe(0);
    expect(a.json()).toMatchObject({ name: 'digits', createdBy: 'ci', itemCount: 6, labels: ['0', '1', '2'], created: true });
    await cli('import', 'mnist', '--per-class', '3', ...data);
    const b = (await cli('snapshot', '--name', 'more', '--labels', '0,1,2', ...data)).json();

    const list = await cli('datasets', 'list', ...data);
    expect(list.json().map((d: { name: string }) => d.name)).toEqual(['more', 'digits']);
    const diff = await cli('datasets', 'diff', a.json().id, b.id, ...data);
    expect(diff.json().counts).toEqual({ added: 3, removed: 0, relabelled: 0 });
    const check = await cli('datasets', 'check', b.id, ...data);
    expect(check.code).toBe(0);
    expect(check.json()).toEqual({ ok: true, problems: [] });
    const out = join(dir, 'manifest.json');
    expect((await cli('datasets', 'export', b.id, '--out', out, ...data)).code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ id: b.id, items: expect.any(Array) });
    const show = await cli('datasets', 'show', b.id, '--limit', '2', ...data);
    expect(show.json().items).toHaveLength(2);
  });

  it('creates, lists and revokes devices; the secret is shown once and only its hash is stored', async () => {
    const data = ['--data-dir', dir, '--actor', 'admin'];
    const created = await cli('devices', 'create', 'cam-01', '--note', 'porch', ...data);
    expect(created.code).toBe(0);
    const { deviceId, secret } = created.json();
    expect(deviceId).toBe('cam-01');
    expect(secret).toEqual(expect.any(String));
    expect((await cli('devices', 'create', 'cam-01', ...data)).stderr).toMatch(/CONFLICT/);
    expect((await cli('devices', 'create', 'bad/id', ...data)).stderr).toMatch(/BAD_REQUEST/);
    const listed = (await cli('devices', 'list', ...data)).json();
    expect(listed).toMatchObject({ total: 1, items: [{ id: 'cam-01', createdBy: 'admin', note: 'porch', revokedAt: null }] });
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect((await cli('devices', 'revoke', 'cam-01', ...data)).json()).toMatchObject({ id: 'cam-01', revokedAt: expect.any(String) });
    expect((await cli('devices', 'list', '--status', 'revoked', ...data)).json().total).toBe(1);
    expect((await cli('devices', 'list', '--status', 'active', ...data)).json().total).toBe(0);
    expect((await cli('devices', 'list', '--status', 'weird', ...data)).code).toBe(2);
    expect((await cli('devices', 'revoke', 'nobody', ...data)).code).toBe(1);
  });

  it('answers bad usage with exit 2 and hub errors with exit 1 and their code', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('toString')).code).toBe(2);
    expect((await cli('import')).code).toBe(2);
    expect((await cli('--nope')).code).toBe(2);
    expect((await cli('import', 'mnist', '--per-class', 'x', '--data-dir', dir)).code).toBe(2);
    expect((await cli('snapshot', '--data-dir', dir)).code).toBe(2);
    const missing = await cli('datasets', 'show', 'f'.repeat(64), '--data-dir', dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: edgeloop-hub/);
  });

  it('runs as a program', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=@edgeloop/source', '--import', 'tsx', 'hub/src/cli.ts', '--help'],
      { cwd: repoRoot },
    );
    expect(stdout).toMatch(/^usage: edgeloop-hub/);
  });
});
