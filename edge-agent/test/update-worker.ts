/**
 * The agent's update path as a process of its own, for the kill -9 test: boot (recover), print the
 * verified current version, then run one update check, printing where it is. Arguments: one JSON
 * object {stateDir, modelsDir, repositoryUrl, rootFile}.
 */
import { readFile } from 'node:fs/promises';
import { ModelUpdater, onnxSelfTest } from '../src/updates/index.js';

const args = JSON.parse(process.argv[2] ?? '{}') as { stateDir: string; modelsDir: string; repositoryUrl: string; rootFile: string };
const say = (line: string) => process.stdout.write(`${line}\n`);

const updater = new ModelUpdater({
  modelName: 'digits',
  stateDir: args.stateDir,
  modelsDir: args.modelsDir,
  repositoryUrl: args.repositoryUrl,
  trustedRoot: await readFile(args.rootFile),
  selfTest: onnxSelfTest,
  fetch: { timeoutMs: 10_000, stallTimeoutMs: 5_000 },
});
const current = await updater.recover();
say(`BOOT ${current?.version ?? 0}`);
let downloading = false;
updater.on('progress', () => {
  if (!downloading) say('DOWNLOADING');
  downloading = true;
});
const r = await updater.checkForUpdate();
say(`RESULT ${r.status} ${r.status === 'updated' ? r.model.version : r.status === 'rejected' ? `${r.code} ${r.error.message}` : ''}`);
