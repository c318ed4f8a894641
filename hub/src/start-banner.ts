/**
 * What `npm start` tells a person: where everything is, the admin token, and what to do next. The
 * token is generated on first start (when `EDGELOOP_ADMIN_TOKEN` is not set) and kept in
 * `<dataDir>/admin-token` (mode 0600), so it stays the same across restarts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';

/** The configured admin token, else the one stored under the data directory (created if absent). */
export function adminTokenFor(config: Config): string {
  if (config.adminToken !== '') return config.adminToken;
  const file = join(config.dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(config.dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** The lines printed once the hub serves. */
export function startBanner(o: {
  urls: { http: string; mqtt: string; ws?: string };
  token: string;
  config: Config;
  demo: boolean;
}): string {
  const { urls, token, config } = o;
  const api = `curl -H 'Authorization: Bearer ${token}' ${urls.http}`;
  const lines = [
    '',
    'edgeloop hub is running',
    `  browser client   ${urls.http}/`,
    `  admin API        ${urls.http}/openapi.json   (admin token: ${token})`,
    `  MQTT             ${urls.mqtt}${urls.ws ? `   (WebSocket: ${urls.ws})` : ''}`,
    `  metrics          ${urls.http}/metrics`,
    `  data             ${config.dataDir}`,
    '',
    config.bootstrap === 'mnist'
      ? `First start: the first model ("${config.pipeline.model}") is trained on the bundled MNIST digits unless one exists; its progress follows.`
      : 'No first model is trained at start (EDGELOOP_BOOTSTRAP=none).',
    'What next:',
    `  1. open ${urls.http}/ and draw digits: uncertain ones are sent to the hub`,
    `  2. see what arrived:     ${api}/samples`,
    `  3. label the queue:      ${api}/labelling/queue`,
    `  4. watch training:       ${api}/pipeline/runs   and   ${api}/runs`,
    `  5. watch the rollout:    ${api}/rollouts`,
    o.demo
      ? 'Demo: a simulated fleet and a simulated labelling oracle start once the first model is live (marked [simulation] in the log); a retrain fires after 300 new labels (cool-down 2 min) and a canary is watched for 1 min.'
      : 'Add a simulated fleet with: npm start -- --demo',
    '',
  ];
  return lines.join('\n');
}
