/** Structured logs (pino), one JSON object a line on stderr, so stdout stays for results. */
import { type Logger, pino } from 'pino';
import type { AgentConfig } from './config.js';

export type { Logger };

/** The agent's root logger; modules take child loggers (`logger.child({ module: 'outbox' })`). */
export function createLogger(level: AgentConfig['log']['level'], destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, base: { service: 'edgeloop-agent' } }, destination);
}
