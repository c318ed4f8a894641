/**
 * Fixtures for the release tests (not used by the hub): real model releases (an untrained CNN
 * exported by `@edgeloop/models`, so onnxruntime loads it), a repository over the file object
 * store and a key directory in a temporary directory, and a node:http server that serves the
 * repository through the same `readRepositoryFile` as the hub's `/tuf/*` route, with optional
 * attacker overrides and faults per path.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportToOnnx, mnistCnn, mnistPreprocessing } from '@edgeloop/models';
import { encodeJson } from '@edgeloop/protocol';
import { FsObjectStore } from '../storage/fs.js';
import type { ObjectStore } from '../storage/object-store.js';
import { KeyDir } from './keys.js';
import { type ReleaseInput, ReleaseRepository, type ReleaseRepositoryOptions } from './repository.js';
import { readRepositoryFile, TUF_PREFIX } from './serve.js';

export const MODEL = 'digits';

/**
 * Release `version` of `model`: a 3-class MNIST CNN (weights seeded by `seed`) and its manifest;
 * or, with `onnxBytes`, those bytes under this version (a rollback).
 */
export function tinyRelease(version: number, options: { model?: string; seed?: number; onnxBytes?: Uint8Array } = {}): ReleaseInput {
  const model = options.model ?? MODEL;
  let onnxBytes = options.onnxBytes;
  if (!onnxBytes) {
    const net = mnistCnn(3, options.seed ?? version);
    onnxBytes = exportToOnnx(net, { modelName: model, docString: `${model} v${version}` });
    net.dispose();
  }
  const manifestBytes = encodeJson('manifest', {
    v: 1,
    name: model,
    version,
    labels: ['zero', 'one', 'two'],
    input: { name: 'input', shape: [-1, 28, 28, 1], layout: 'NHWC', dtype: 'float32' },
    output: { name: 'probabilities', kind: 'probabilities' },
    preprocessing: mnistPreprocessing,
    model: { format: 'onnx', sha256: createHash('sha256').update(onnxBytes).digest('hex'), length: onnxBytes.byteLength },
    createdAt: '2026-11-23T00:00:00.000Z',
  });
  return { model, version, onnxBytes, manifestBytes };
}

export interface RepoFixture {
  dir: string;
  store: ObjectStore;
  keyDir: KeyDir;
  repo: ReleaseRepository;
  close(): Promise<void>;
}

/** A fresh key directory (`rootKeys` root keys) and an initialised repository in a temp dir. */
export async function openRepoFixture(
  options: Omit<ReleaseRepositoryOptions, 'store' | 'keyDir'> & { rootKeys?: number; rootThreshold?: number } = {},
): Promise<RepoFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-releases-'));
  const store = await FsObjectStore.open(join(dir, 'objects'));
  const keyDir = new KeyDir(join(dir, 'keys'));
  await keyDir.init(options.rootKeys ?? 1);
  const repo = new ReleaseRepository({ ...options, store, keyDir });
  await repo.initialise({ rootThreshold: options.rootThreshold ?? 1 });
  return {
    dir,
    store,
    keyDir,
    repo,
    close: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What to do to one response instead of serving the stored file. `flip.bit` is a bit index, or,
 * below 1, a fraction of the file's bits (0.5 flips a bit in the middle).
 */
export type Fault =
  | { kind: 'status'; status: number }
  | { kind: 'flip'; bit: number }
  | { kind: 'truncate'; bytes: number }
  | { kind: 'replace'; body: Uint8Array };

/** Serves `store` below `tuf/` on 127.0.0.1, as the hub does; `overrides` and `fault` play the attacker. */
export class RepoServer {
  readonly url: string;
  /** Files served instead of the store's (an attacker's metadata), by path below the base URL. */
  readonly overrides = new Map<string, Uint8Array>();
  fault: ((path: string) => Fault | undefined) | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    public store: ObjectStore,
  ) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tuf/`;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(store: ObjectStore): Promise<RepoServer> {
    let self: RepoServer | undefined;
    const server = createServer((req, res) => void self?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new RepoServer(server, store);
    return self;
  }

  /** Back to serving the store as it is. */
  reset(): void {
    this.overrides.clear();
    this.fault = undefined;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/tuf\//, '');
      const fault = this.fault?.(path);
      if (fault?.kind === 'status') return void res.writeHead(fault.status).end();
      const override = this.overrides.get(path);
      let body = override ?? (await readRepositoryFile(this.store, TUF_PREFIX, path))?.bytes;
      if (!body) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"NOT_FOUND"}');
      if (fault?.kind === 'replace') body = fault.body;
      if (fault?.kind === 'truncate') body = body.subarray(0, fault.bytes);
      if (fault?.kind === 'flip') {
        const copy = Buffer.from(body);
        const bits = copy.length * 8;
        const bit = fault.bit < 1 ? Math.floor(fault.bit * bits) : fault.bit % bits;
        copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        body = copy;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.byteLength }).end(body);
    } catch {
      res.destroy();
    }
  }
}
