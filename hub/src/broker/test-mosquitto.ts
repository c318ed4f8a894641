/**
 * Test support: a real Mosquitto (Debian's `/usr/sbin/mosquitto`) on free 127.0.0.1 ports, with
 * the configuration `mosquitto-config.ts` generates. Suites wrap themselves in
 * `requirePart('mosquitto', mosquittoAvailable, ...)`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { type DeviceCredentials, mosquittoConf, writeMosquittoFiles } from './mosquitto-config.js';
import { syncMosquitto } from './mosquitto-sync.js';
import { freePort, sleep } from './test-mqtt.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const mosquittoAvailable = existsSync(MOSQUITTO);
export const MOSQUITTO_HOW_TO_GET = 'apt-get install mosquitto (Debian package; .ci/run installs it)';

export interface MosquittoProcess {
  /** The device listener. */
  deviceUrl: string;
  /** The hub listener (hub identity only). */
  hubUrl: string;
  /** Everything Mosquitto logged. */
  log(): string;
  /** Writes the password and ACL files again and sends SIGHUP; resolves once Mosquitto reloaded. */
  reload(devices: DeviceCredentials): Promise<void>;
  stop(): Promise<void>;
}

export interface MosquittoOptions {
  devices: DeviceCredentials;
  hubUsername: string;
  hubPassword: string;
  maxRemainingLength: number;
  /** Extra `mosquitto.conf` lines (global section), e.g. `sys_interval 1`. */
  extra?: string[];
}

export async function startMosquitto(options: MosquittoOptions): Promise<MosquittoProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-mosquitto-'));
  const source = { hubUsername: options.hubUsername, hubPassword: options.hubPassword };
  const files = await writeMosquittoFiles(dir, { ...source, devices: options.devices });
  const [devicePort, hubPort] = [await freePort(), await freePort()];
  const conf = mosquittoConf({
    files,
    devices: { host: '127.0.0.1', port: devicePort },
    hub: { host: '127.0.0.1', port: hubPort },
    persistenceDir: dir,
    maxRemainingLength: options.maxRemainingLength,
    // Run as root (as in CI containers), Mosquitto would switch to `mosquitto`, which cannot read
    // the 0600 files of this temp dir.
    user: userInfo().username,
    pidFile: join(dir, 'mosquitto.pid'),
  });
  const confPath = join(dir, 'mosquitto.conf');
  await writeFile(confPath, `${conf}\n${(options.extra ?? []).join('\n')}\n`);

  let output = '';
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.all([waitForPort(devicePort, () => output), waitForPort(hubPort, () => output)]);
  } catch (error) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    deviceUrl: `mqtt://127.0.0.1:${devicePort}`,
    hubUrl: `mqtt://127.0.0.1:${hubPort}`,
    log: () => output,
    async reload(devices) {
      const before = output.split('Reloading config').length;
      // As the hub would: regenerate from the registry, then SIGHUP through the pid file.
      await syncMosquitto({ dir, ...source, registry: { activeCredentials: () => [...devices] }, pidFile: join(dir, 'mosquitto.pid') });
      for (let i = 0; i < 100 && output.split('Reloading config').length === before; i++) await sleep(20);
      // The reload runs right after the log line, in the same main-loop turn.
      await sleep(50);
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, log: () => string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`mosquitto did not listen on ${port}:\n${log()}`);
}
