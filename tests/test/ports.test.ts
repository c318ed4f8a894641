/** tests/support/ports.ts: every port handed out in one process is a different, bindable one. */
import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { freePort } from '../support/ports.js';

it('freePort never hands out the same port twice in one process, and each one can be bound', async () => {
  const ports: number[] = [];
  for (let i = 0; i < 300; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(ports.length);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ports.at(-1), '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
});
