/**
 * Keeps an external Mosquitto in step with the device registry: after an issue or a revocation,
 * write the password and ACL files again and send Mosquitto SIGHUP (it reloads both; connections
 * already open stay, so a revocation takes effect on the device's next connect, as with the
 * embedded broker). For Mosquitto on another host, run the same on that host, or mount `dir`.
 */
import { readFile } from 'node:fs/promises';
import { HubError } from '../errors.js';
import type { DeviceRegistry } from '../fleet/devices.js';
import { type MosquittoFiles, writeMosquittoFiles } from './mosquitto-config.js';

export interface MosquittoSyncOptions {
  /** Where Mosquitto's `password_file`s and `acl_file`s live (as `mosquittoConf` names them). */
  dir: string;
  registry: Pick<DeviceRegistry, 'activeCredentials'>;
  hubUsername: string;
  hubPassword: string;
  /** Mosquitto's `pid_file`; without it the files are written but nobody is signalled. */
  pidFile?: string;
}

/** Writes the files from the registry and, with a pid file, makes Mosquitto reload them. */
export async function syncMosquitto(options: MosquittoSyncOptions): Promise<MosquittoFiles> {
  const files = await writeMosquittoFiles(options.dir, {
    hubUsername: options.hubUsername,
    hubPassword: options.hubPassword,
    devices: options.registry.activeCredentials(),
  });
  if (options.pidFile) {
    const pid = Number((await readFile(options.pidFile, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 1) throw new HubError('BAD_CONFIG', `no valid pid in ${options.pidFile}`);
    try {
      process.kill(pid, 'SIGHUP');
    } catch (cause) {
      throw new HubError('BROKER_FAILED', `cannot signal Mosquitto (pid ${pid})`, { cause });
    }
  }
  return files;
}
