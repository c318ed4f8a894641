/**
 * Serves the hub's HTTP API alone, over real parts in a temporary directory (SQLite, the file
 * object store, an ONNX classifier, seed data), on 127.0.0.1 and a free port, for API fuzzers such
 * as schemathesis (`.ci/schemathesis.sh`). Prints one JSON line when it listens:
 *
 *   {"event":"ready","url":"http://127.0.0.1:PORT","token":"..."}
 *
 * and stops on SIGTERM or SIGINT, removing its directory. Usage (from the repository root):
 *
 *   node --conditions=@edgeloop/source --import tsx hub/test/serve-api.ts [--log-level warn]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { openApiFixture, seed, tinyClassifier } from '../src/api/test-support.js';

async function main(): Promise<void> {
  const token = randomBytes(24).toString('base64url');
  const modelDir = mkdtempSync(join(tmpdir(), 'edgeloop-serve-api-model-'));
  const classifier = await tinyClassifier(modelDir);
  const fixture = await openApiFixture({ token, classifier });
  await seed(fixture);
  const server = serve({ fetch: fixture.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: `http://127.0.0.1:${port}`, token })}\n`);
  const stop = () => {
    server.close();
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    fixture.close().finally(() => {
      rmSync(modelDir, { recursive: true, force: true });
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`serve-api: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
