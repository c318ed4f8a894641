/**
 * Serves a {@link TufRepository} (or any map of files) over HTTP on 127.0.0.1, with faults injected
 * per request: an attacker or a broken network between the device and the hub.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TufRepository } from './tuf-repo.js';

/** What to do to one response instead of serving the file as is. */
export type Fault =
  /** Answer with this HTTP status and no body. */
  | { kind: 'status'; status: number }
  /** Serve these bytes instead (arbitrary bytes, another state's metadata, malformed JSON). */
  | { kind: 'replace'; body: Uint8Array }
  /** Serve only the first `bytes` bytes, cleanly ended (a short file). */
  | { kind: 'truncate'; bytes: number }
  /** Declare the full length, send `bytes` bytes, then drop the connection. */
  | { kind: 'cut'; bytes: number }
  /** Append `extra` bytes, streamed without a Content-Length (endless-data attack). */
  | { kind: 'oversize'; extra: number; declareLength?: boolean }
  /** Send `chunkBytes` every `delayMs` (slow retrieval, or just a wide window for kill tests). */
  | { kind: 'slow'; chunkBytes: number; delayMs: number }
  /** Send `afterBytes` bytes, then nothing, forever. */
  | { kind: 'stall'; afterBytes: number }
  /** Flip one bit (bit index into the body, modulo its length). */
  | { kind: 'flip'; bit: number }
  /** Redirect to `location` (absolute or relative). */
  | { kind: 'redirect'; location: string };

export type FileSource = TufRepository | Map<string, Buffer>;

export class TufServer {
  /** Base URL, ending in `/`: metadata below `metadata/`, targets below `targets/`. */
  readonly url: string;
  /** What is served; swap it to serve an old or forked state. */
  source: FileSource;
  /** Chooses a fault per request path (relative to the base, e.g. `metadata/timestamp.json`). */
  fault: ((path: string) => Fault | undefined) | undefined;
  /** Paths requested, in order (cleared by the tests as they like). */
  readonly requests: string[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    source: FileSource,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/`;
    this.source = source;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(source: FileSource): Promise<TufServer> {
    let self: TufServer | undefined;
    const server = createServer((req, res) => void self?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new TufServer(server, source);
    return self;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private lookup(path: string): Buffer | undefined {
    return this.source instanceof Map ? this.source.get(path) : this.source.files.get(path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', this.url).pathname.slice(1));
    this.requests.push(path);
    const body = this.lookup(path);
    const fault = this.fault?.(path);
    res.on('error', () => {});
    try {
      if (fault?.kind === 'status') return void res.writeHead(fault.status).end();
      if (fault?.kind === 'redirect') return void res.writeHead(302, { location: fault.location }).end();
      if (!body) return void res.writeHead(404).end();
      await this.send(res, body, fault);
    } catch {
      res.destroy();
    }
  }

  private async send(res: ServerResponse, body: Buffer, fault: Fault | undefined): Promise<void> {
    const type = { 'content-type': 'application/octet-stream' };
    switch (fault?.kind) {
      case 'replace':
        return void res.writeHead(200, { ...type, 'content-length': fault.body.byteLength }).end(fault.body);
      case 'truncate':
        return void res.writeHead(200, type).end(body.subarray(0, fault.bytes));
      case 'cut':
        res.writeHead(200, { ...type, 'content-length': body.length });
        res.write(body.subarray(0, fault.bytes));
        await sleep(20);
        return void res.destroy();
      case 'flip': {
        const copy = Buffer.from(body);
        const bit = fault.bit % (copy.length * 8);
        copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        return void res.writeHead(200, { ...type, 'content-length': copy.length }).end(copy);
      }
      case 'oversize': {
        const total = body.length + fault.extra;
        res.writeHead(200, fault.declareLength ? { ...type, 'content-length': total } : type);
        res.write(body);
        for (let sent = 0; sent < fault.extra && !res.destroyed; sent += 65_536) {
          if (!res.write(Buffer.alloc(Math.min(65_536, fault.extra - sent), 0x41))) await waitDrain(res);
        }
        return void res.end();
      }
      case 'slow':
        res.writeHead(200, { ...type, 'content-length': body.length });
        for (let at = 0; at < body.length && !res.destroyed; at += fault.chunkBytes) {
          res.write(body.subarray(at, at + fault.chunkBytes));
          await sleep(fault.delayMs);
        }
        return void res.end();
      case 'stall':
        res.writeHead(200, { ...type, 'content-length': body.length });
        res.write(body.subarray(0, fault.afterBytes));
        return; // never ends; close() destroys the socket
      default:
        return void res.writeHead(200, { ...type, 'content-length': body.length }).end(body);
    }
  }
}

function waitDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
