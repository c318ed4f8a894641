/**
 * The baseline of `bench:ingest`: a plain aedes broker with no hub logic (no auth, no hooks), in
 * its own process like the hub. Prints `{"port":N}` when listening; stops on SIGTERM.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  broker.close(() => process.exit(0));
});
