/**
 * The CLI's argument parsing and dispatch, with the environment and the streams passed in: the
 * entry (`cli.ts`) is the only place that hands it `process.env`.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { startAgent } from '../agent.js';
import { loadConfig, SETTINGS } from '../config-sources.js';
import { AgentError } from '../errors.js';
import { createLogger } from '../log.js';
import { type CommandIo, classifyCommand } from './classify.js';
import { statusCommand } from './status.js';

function usage(): string {
  const width = Math.max(...SETTINGS.map((s) => s.flag.length)) + 8;
  const flags = SETTINGS.map((s) => `${`  --${s.flag} <${s.kind}>`.padEnd(width + 6)}${s.help}  [EDGELOOP_AGENT_${s.env}]`);
  return [
    'usage: edgeloop-agent <command> [options]',
    '',
    'commands:',
    '  run                    the daemon: classify from watched folders and the local HTTP API, sync with the hub',
    '  classify <files…>      classify images once, offline; one JSON line per file on stdout',
    "  status                 the running daemon's status, or the state directory's when none answers",
    '',
    'options (flags > EDGELOOP_AGENT_* variables > --config file > defaults):',
    `${'  --config <file>'.padEnd(width + 6)}JSON config file  [EDGELOOP_AGENT_CONFIG]`,
    ...flags,
    `${'  --http-url <url>'.padEnd(width + 6)}status: the daemon to ask (default from --http-host/--http-port)`,
    '  -h, --help',
    '',
  ].join('\n');
}

const OPTIONS: ParseArgsConfig['options'] = {
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  'http-url': { type: 'string' },
  ...Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string', multiple: s.kind === 'list' }])),
};

/** Handles SIGTERM and SIGINT for `run`: a graceful stop, then exit 0; a second signal exits at once. */
export interface Signals {
  on(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
}

/** Runs one CLI invocation; resolves with the exit status (for `run`, once the daemon has stopped). */
export async function runCli(argv: string[], env: Record<string, string | undefined>, io: CommandIo, signals?: Signals): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr.write(`edgeloop-agent: ${(e as Error).message}\n\n${usage()}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    (values.help ? io.stdout : io.stderr).write(usage());
    return values.help ? 0 : 2;
  }
  try {
    const { 'http-url': httpUrl, help: _, ...flags } = values;
    const config = loadConfig({ flags, env });
    switch (command) {
      case 'classify':
        return await classifyCommand(config, rest, io);
      case 'status':
        return await statusCommand(config, io, httpUrl as string | undefined);
      case 'run': {
        const logger = createLogger(config.log.level, io.stderr);
        const agent = await startAgent(config, { logger });
        return await new Promise<number>((resolve) => {
          let stopping = false;
          const stop = () => {
            if (stopping) return resolve(1); // a second signal: give up waiting
            stopping = true;
            logger.info('stopping');
            agent.stop().then(
              () => resolve(0),
              (err) => {
                logger.error({ err }, 'unclean stop');
                resolve(1);
              },
            );
          };
          signals?.on('SIGTERM', stop);
          signals?.on('SIGINT', stop);
        });
      }
      default:
        throw new AgentError('BAD_ARGUMENT', `unknown command "${command}" (run, classify, status)`);
    }
  } catch (e) {
    const code = e instanceof AgentError ? e.code : 'INTERNAL';
    io.stderr.write(`edgeloop-agent: ${code}: ${(e as Error).message}\n`);
    return code === 'BAD_ARGUMENT' || code === 'BAD_CONFIG' ? 2 : 1;
  }
}
