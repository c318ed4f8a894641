/**
 * Installed models: `<modelsDir>/<name>/<version>/{model.onnx, manifest.json, install.json}` and one
 * pointer file, `<modelsDir>/<name>/current`, JSON `{"v":1,"current":3,"previous":2,"highest":3}`.
 *
 * The pointer is a small file replaced atomically (write, fsync, rename, fsync the directory), not a
 * symlink: one rename moves `current` and `previous` together, so they can never disagree; it also
 * records the highest version ever installed, so a local rollback is not undone by the next check;
 * and it works on file systems without symlinks (FAT SD cards, Windows).
 *
 * A version directory is built as `<version>.partial/` and renamed into place only once complete,
 * so a directory without the suffix is always whole. `install.json` records the signed length and
 * hashes of both files at install time, to re-verify them at boot.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJson } from '@edgeloop/protocol';
import type { Targets } from '@tufjs/models';
import { z } from 'zod';
import { AgentError } from '../errors.js';
import { TMP_MARK, writeFileAtomic } from './durable-fs.js';
import { MANIFEST_FILE, MODEL_FILE, releasePaths } from './release.js';

const version = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const PointerSchema = z.strictObject({
  v: z.literal(1),
  current: version.optional(),
  previous: version.optional(),
  highest: z.number().int().min(0),
});
export type Pointer = z.infer<typeof PointerSchema>;

const FileRecord = z.strictObject({ length: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const InstallRecordSchema = z.strictObject({
  v: z.literal(1),
  name: z.string(),
  version,
  files: z.strictObject({ [MODEL_FILE]: FileRecord, [MANIFEST_FILE]: FileRecord }),
});
export type InstallRecord = z.infer<typeof InstallRecordSchema>;

export const INSTALL_RECORD = 'install.json';
export const PARTIAL = '.partial';

export class ModelStore {
  /** `<modelsDir>/<name>`. */
  readonly root: string;

  constructor(
    modelsDir: string,
    readonly name: string,
  ) {
    this.root = join(modelsDir, name);
  }

  dirOf(v: number): string {
    return join(this.root, String(v));
  }

  partialDirOf(v: number): string {
    return join(this.root, `${v}${PARTIAL}`);
  }

  /** The pointer; a missing (or, against all odds, unreadable) one means nothing is installed. */
  async readPointer(): Promise<Pointer> {
    try {
      return PointerSchema.parse(JSON.parse(await readFile(join(this.root, 'current'), 'utf8')));
    } catch {
      return { v: 1, highest: 0 };
    }
  }

  /** The swap: one atomic rename moves `current` (and `previous`). */
  async writePointer(pointer: Pointer): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await writeFileAtomic(join(this.root, 'current'), `${JSON.stringify(PointerSchema.parse(pointer))}\n`);
  }

  /**
   * Checks an installed version: both files have the length and sha256 recorded at install, the
   * record agrees with the trusted targets metadata wherever that still lists the release, and the
   * manifest names this release and its model's hash. Returns the problem, or undefined if sound.
   */
  async verify(v: number, trusted: Targets | undefined): Promise<AgentError | undefined> {
    const dir = this.dirOf(v);
    try {
      const record = InstallRecordSchema.parse(JSON.parse(await readFile(join(dir, INSTALL_RECORD), 'utf8')));
      if (record.name !== this.name || record.version !== v) return bad(`${dir}: install record names ${record.name} v${record.version}`);
      const paths = releasePaths(this.name, v);
      for (const [file, path] of [[MODEL_FILE, paths.model] as const, [MANIFEST_FILE, paths.manifest] as const]) {
        const want = record.files[file];
        const signed = trusted?.targets[path];
        if (signed && (signed.length !== want.length || signed.hashes.sha256 !== want.sha256)) {
          return bad(`${dir}/${file}: install record disagrees with the trusted targets metadata`);
        }
        const bytes = await readFile(join(dir, file));
        const got = createHash('sha256').update(bytes).digest('hex');
        if (bytes.length !== want.length || got !== want.sha256) return bad(`${dir}/${file}: length or sha256 differs from the signed one`);
      }
      const manifest = decodeJson('manifest', await readFile(join(dir, MANIFEST_FILE)));
      if (!manifest.ok) return bad(`${dir}: ${manifest.error.message}`);
      const m = manifest.value;
      if (m.name !== this.name || m.version !== v || m.model.sha256 !== record.files[MODEL_FILE].sha256) {
        return bad(`${dir}: manifest does not describe this release`);
      }
      return undefined;
    } catch (cause) {
      return new AgentError('UPDATE_HASH_MISMATCH', `${dir}: cannot verify the installed model`, { cause });
    }
  }

  /**
   * Boot-time repair: keeps `current` if it verifies, else falls back to `previous` if that does,
   * else to none; drops a `previous` that fails; removes every other directory. Returns the pointer.
   */
  async repair(trusted: Targets | undefined): Promise<Pointer> {
    const pointer = await this.readPointer();
    const sound = async (v: number | undefined) => v !== undefined && !(await this.verify(v, trusted));
    let next = pointer;
    if (!(await sound(pointer.current))) {
      next = { v: 1, current: (await sound(pointer.previous)) ? pointer.previous : undefined, highest: pointer.highest };
    } else if (pointer.previous !== undefined && !(await sound(pointer.previous))) {
      next = { ...pointer, previous: undefined };
    }
    if (next.current !== pointer.current || next.previous !== pointer.previous) await this.writePointer(next);
    await this.prune([next.current, next.previous]);
    return next;
  }

  /** Removes partial builds, temporary files and every version directory not in `keep`. */
  async prune(keep: (number | undefined)[]): Promise<void> {
    const names = new Set(keep.filter((k) => k !== undefined).map(String));
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch {
      return;
    }
    for (const e of entries) {
      const stale = e.endsWith(PARTIAL) || e.includes(TMP_MARK) || (/^[0-9]+$/.test(e) && !names.has(e));
      if (stale) await rm(join(this.root, e), { recursive: true, force: true });
    }
  }
}

function bad(message: string): AgentError {
  return new AgentError('UPDATE_HASH_MISMATCH', message);
}
