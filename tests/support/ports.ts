/**
 * Free TCP ports on 127.0.0.1 for tests. A port is released before it is returned (the caller's
 * server binds it later), so the kernel may offer it again at once: two calls in a row once gave
 * Mosquitto the same port for both of its listeners ("Address already in use"). So no port is
 * handed out twice in one process.
 */
import { createServer } from 'node:net';

const handedOut = new Set<number>();

function anyFreePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
  });
}

/** A port free a moment ago that this process has not been given before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await anyFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: the kernel kept offering ports this process was already given');
}
