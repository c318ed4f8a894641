#!/usr/bin/env node
/**
 * `edgeloop-agent`: the CLI entry. The only place that reads `process.env` and installs signal
 * handlers; everything else is in `commands/`.
 */
import { runCli } from './commands/main.js';

process.exitCode = await runCli(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr }, process);
// The daemon's sockets and timers are closed by then; anything left (a stuck socket) must not keep
// a stopped agent alive under a supervisor.
if (process.argv[2] === 'run') process.exit();
