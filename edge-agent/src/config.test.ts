import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, repositoryUrlOf } from './config.js';
import { loadConfig, SETTINGS } from './config-sources.js';
import { AgentError } from './errors.js';

function configFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'agent-config-')), 'agent.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function badConfig(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AgentError);
    expect((e as AgentError).code).toBe('BAD_CONFIG');
    return (e as Error).message;
  }
  throw new Error('expected BAD_CONFIG');
}

describe('loadConfig', () => {
  it('gives the defaults, which validate, when nothing is set', () => {
    const c = loadConfig();
    expect(c).toEqual(defaultConfig);
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8090 });
  });

  it('applies flags over env over file over defaults', () => {
    const file = configFile({ http: { port: 1111, host: '0.0.0.0' }, deviceId: 'from-file', log: { level: 'debug' } });
    const env = { EDGELOOP_AGENT_HTTP_PORT: '2222', EDGELOOP_AGENT_DEVICE_ID: 'from-env' };
    const c = loadConfig({ file, env, flags: { 'http-port': '3333' } });
    expect(c.http.port).toBe(3333); // flag
    expect(c.deviceId).toBe('from-env'); // env over file
    expect(c.http.host).toBe('0.0.0.0'); // file over default
    expect(c.log.level).toBe('debug');
    expect(c.outbox).toEqual(defaultConfig.outbox); // untouched default
  });

  it('finds the file through --config or EDGELOOP_AGENT_CONFIG', () => {
    const file = configFile({ model: { name: 'digits' } });
    expect(loadConfig({ flags: { config: file } }).model.name).toBe('digits');
    expect(loadConfig({ env: { EDGELOOP_AGENT_CONFIG: file } }).model.name).toBe('digits');
  });

  it('derives modelsDir from stateDir unless it is set', () => {
    expect(loadConfig({ flags: { 'state-dir': '/var/lib/agent' } }).modelsDir).toBe('/var/lib/agent/models');
    expect(loadConfig({ flags: { 'state-dir': '/a', 'models-dir': '/b' } }).modelsDir).toBe('/b');
  });

  it('parses lists, booleans and repeated flags', () => {
    expect(loadConfig({ env: { EDGELOOP_AGENT_WATCH: '/in/a, /in/b' } }).watch.dirs).toEqual(['/in/a', '/in/b']);
    expect(loadConfig({ flags: { watch: ['/x', '/y'] } }).watch.dirs).toEqual(['/x', '/y']);
    expect(loadConfig({ env: { EDGELOOP_AGENT_HTTP: 'false' } }).http.enabled).toBe(false);
  });

  it('takes nested sampling settings from the file, validated by the protocol schema', () => {
    const c = loadConfig({ file: { sampling: { strategy: { strategy: 'random', rate: 0.2 } } } });
    expect(c.sampling).toEqual({ strategy: { strategy: 'random', rate: 0.2 }, auditRate: 0 });
    expect(badConfig(() => loadConfig({ file: { sampling: { strategy: { strategy: 'random', rate: 2 } } } }))).toMatch(
      /sampling\.strategy\.rate.*from file/,
    );
  });

  it('names the field and where a bad value came from', () => {
    expect(badConfig(() => loadConfig({ env: { EDGELOOP_AGENT_HTTP_PORT: '70000' } }))).toMatch(
      /http\.port: .*from env EDGELOOP_AGENT_HTTP_PORT/,
    );
    expect(badConfig(() => loadConfig({ flags: { 'http-port': 'eighty' } }))).toMatch(/--http-port must be an integer, got "eighty"/);
    expect(badConfig(() => loadConfig({ flags: { 'outbox-overflow': 'drop' } }))).toMatch(/outbox\.overflow.*flag --outbox-overflow/);
    expect(badConfig(() => loadConfig({ flags: { 'device-id': 'a/b' } }))).toMatch(/deviceId/);
    expect(badConfig(() => loadConfig({ flags: { 'hub-mqtt-url': 'http://x' } }))).toMatch(/hub\.mqttUrl/);
    expect(badConfig(() => loadConfig({ file: { htpp: {} } }))).toMatch(/htpp/);
    expect(badConfig(() => loadConfig({ file: configFile('{not json') }))).toMatch(/not a JSON object/);
    expect(badConfig(() => loadConfig({ file: '/nonexistent/agent.json' }))).toMatch(/cannot read/);
  });

  it('has one unique flag and variable per setting', () => {
    expect(new Set(SETTINGS.map((s) => s.flag)).size).toBe(SETTINGS.length);
    expect(new Set(SETTINGS.map((s) => s.path.join('.'))).size).toBe(SETTINGS.length);
  });

  it('puts the TUF repository below the hub URL by default', () => {
    expect(repositoryUrlOf(defaultConfig)).toBe('http://127.0.0.1:8080/tuf/');
    const c = loadConfig({ flags: { 'repository-url': 'https://cdn.example/repo' } });
    expect(repositoryUrlOf(c)).toBe('https://cdn.example/repo/');
  });
});
