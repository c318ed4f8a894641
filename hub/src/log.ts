/** Structured logs (pino). Child loggers carry `requestId`, `sampleId` or `deviceId`. */
import { type Logger, pino } from 'pino';
import type { Config } from './config.js';

export type { Logger };

export function createLogger(level: Config['log']['level'], destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { service: 'edgeloop-hub' } }, destination ?? process.stderr);
}
