/**
 * The canary cohort: a device is in it when the hash of its id falls below the canary percentage.
 * The hash is sha256(salt + id), read as a number in [0, 100): deterministic, uniform, and the
 * same on every hub replica, so no table of members is needed.
 *
 * With one TUF repository per track (see `tracks.ts`), a device's track is fixed when it is
 * provisioned: its repository URL and root are those of its track. {@link repositoryPathFor}
 * gives that URL path.
 */
import { createHash } from 'node:crypto';
import { CANARY_PATH, STABLE_PATH } from './tracks.js';

/** Where `deviceId` falls in [0, 100). */
export function cohortPoint(deviceId: string, salt = ''): number {
  return (createHash('sha256').update(`${salt}${deviceId}`).digest().readUInt32BE(0) / 2 ** 32) * 100;
}

export function inCanaryCohort(deviceId: string, percent: number, salt = ''): boolean {
  return cohortPoint(deviceId, salt) < percent;
}

export type Track = 'canary' | 'stable';

export function trackOf(deviceId: string, percent: number, salt = ''): Track {
  return inCanaryCohort(deviceId, percent, salt) ? 'canary' : 'stable';
}

/** The repository path (below the hub's base URL) a device of this id is provisioned with. */
export function repositoryPathFor(deviceId: string, percent: number, salt = ''): string {
  return trackOf(deviceId, percent, salt) === 'canary' ? CANARY_PATH : STABLE_PATH;
}
