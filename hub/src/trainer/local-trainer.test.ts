import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { localTrainerThreads, spawnLocalTrainer } from './local-trainer.js';

/** True while a process with this id exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Port 9 (discard) has no listener on loopback: the worker keeps retrying its lease, as it would
// while the hub starts.
const HUB = 'http://127.0.0.1:9';

describe('localTrainerThreads', () => {
  it('leaves one core to the hub unless the operator says otherwise', () => {
    expect(localTrainerThreads({}, 2)).toBe('1');
    expect(localTrainerThreads({}, 8)).toBe('7');
    expect(localTrainerThreads({}, 1)).toBe('1');
    expect(localTrainerThreads({ EDGELOOP_TRAIN_THREADS: '2' }, 2)).toBe('2');
    expect(localTrainerThreads({ EDGELOOP_TRAIN_THREADS: '' }, 4)).toBe('3');
  });
});

describe('spawnLocalTrainer', () => {
  it('stop() resolves only after the worker has exited', async () => {
    const trainer = spawnLocalTrainer(HUB, 'token', createLogger('silent'));
    // Long enough for the worker to load and install its signal handlers.
    await sleep(4_000);
    const pid = trainer.pid!;
    expect(alive(pid)).toBe(true);
    // The worker got its thread count (Linux shows a process's environment in /proc).
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`EDGELOOP_TRAIN_THREADS=${localTrainerThreads()}`);
    await trainer.stop();
    expect(alive(pid)).toBe(false);
    expect(trainer.pid).toBeUndefined();
    await trainer.stop(); // a second stop has nothing to wait for
  });

  it('kills a worker that is still running when the grace period ends, and says so', async () => {
    const lines: string[] = [];
    const log = createLogger('warn', new Writable({ write: (chunk, _enc, done) => done(void lines.push(String(chunk))) }));
    const trainer = spawnLocalTrainer(HUB, 'token', log);
    await sleep(4_000);
    const pid = trainer.pid!;
    await trainer.stop(0);
    expect(alive(pid)).toBe(false);
    expect(lines.join('')).toContain('local trainer did not stop in time; killing it');
  });
});
