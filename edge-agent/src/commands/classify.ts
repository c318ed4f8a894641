/**
 * `edgeloop-agent classify <files…>`: one shot, fully offline. It needs only a model directory
 * (`--model-dir`, or the installed current model) and prints one JSON line per file on stdout:
 * the result, or `{ file, error: { code, message } }`. Exit status 1 when any file failed.
 */
import { readFile } from 'node:fs/promises';
import { installedModelDir } from '../agent/model-runtime.js';
import { loadClassifier } from '../classifier/classifier.js';
import type { AgentConfig } from '../config.js';
import { AgentError } from '../errors.js';

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function classifyCommand(config: AgentConfig, files: string[], io: CommandIo): Promise<number> {
  if (files.length === 0) throw new AgentError('BAD_ARGUMENT', 'classify needs at least one file');
  const dir = await installedModelDir(config);
  if (!dir) {
    throw new AgentError('NO_MODEL', `no model: pass --model-dir, or install one under ${config.modelsDir} (run the daemon against a hub)`);
  }
  const classifier = await loadClassifier(dir, { intraOpThreads: config.classifier.intraOpThreads });
  let failed = 0;
  try {
    for (const file of files) {
      let line: object;
      try {
        const bytes = await readFile(file).catch((cause) => {
          throw new AgentError('BAD_ARGUMENT', `cannot read ${file}: ${(cause as Error).message}`, { cause });
        });
        const { probabilities: _, ...result } = await classifier.classify(bytes, { topK: config.classifier.topK });
        line = { file, ...result };
      } catch (e) {
        failed++;
        const code = e instanceof AgentError ? e.code : 'INTERNAL';
        line = { file, error: { code, message: (e as Error).message } };
      }
      io.stdout.write(`${JSON.stringify(line)}\n`);
    }
  } finally {
    await classifier.release();
  }
  return failed > 0 ? 1 : 0;
}
