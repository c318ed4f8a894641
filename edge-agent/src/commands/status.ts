/**
 * `edgeloop-agent status`: the running daemon's `GET /status`, or, when no daemon answers, what can
 * be read from the state directory (the installed model and the outbox), marked `source: offline`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installedModelDir } from '../agent/model-runtime.js';
import { openOutbox, STATE_DB } from '../agent/parts.js';
import type { AgentConfig } from '../config.js';
import type { CommandIo } from './classify.js';

function localUrl(config: AgentConfig): string {
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`;
}

async function offlineStatus(config: AgentConfig): Promise<object> {
  const dir = await installedModelDir(config);
  const manifest = dir
    ? await readFile(join(dir, 'manifest.json'), 'utf8').then(
        (t) => JSON.parse(t) as { name: string; version: number },
        () => undefined,
      )
    : undefined;
  let outbox: object | null = null;
  if (existsSync(join(config.stateDir, STATE_DB))) {
    const o = openOutbox(config);
    outbox = await o.stats().finally(() => o.close());
  }
  return {
    deviceId: config.deviceId,
    model: manifest ? { name: manifest.name, version: manifest.version, dir } : null,
    outbox,
  };
}

export async function statusCommand(config: AgentConfig, io: CommandIo, url = localUrl(config)): Promise<number> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/status`, { signal: AbortSignal.timeout(3_000) });
    if (res.ok) {
      io.stdout.write(`${JSON.stringify({ source: 'daemon', url, ...((await res.json()) as object) })}\n`);
      return 0;
    }
  } catch {
    // No daemon answering: fall through to what the state directory says.
  }
  io.stdout.write(`${JSON.stringify({ source: 'offline', ...(await offlineStatus(config)) })}\n`);
  return 0;
}
