/**
 * Mosquitto configuration generated from the device registry, the same source the embedded broker
 * authenticates against: password files (the stored `$7$` hashes, as they are), ACL files with
 * the rules of `acl.ts`, and a `mosquitto.conf` that keeps QoS 1 messages (see
 * `hub/docs/mosquitto.md`). Revocation reaches Mosquitto when the files are written again and
 * Mosquitto is sent SIGHUP, which reloads them; connected clients stay connected.
 *
 * Two listeners, each with its own password and ACL file (`per_listener_settings true`): devices
 * on one, the hub on the other. Mosquitto lets any client take over a session by presenting its
 * client id (MQTT 3.1.1 §3.1.4-2), even under another username; the device listener therefore
 * sets `use_username_as_clientid`, and the hub, whose replicas need several client ids under
 * one username, can only authenticate on its own listener.
 *
 * The device ACL uses `pattern` lines with `%u` (the authenticated username, which is the device
 * id) rather than one `user` block per device: every device has the same rules, so the file does
 * not change when devices are issued or revoked, and only the password file decides who connects.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeviceId } from '@edgeloop/protocol';
import { HubError } from '../errors.js';
import { hashSecret } from '../fleet/credentials.js';

/** Active (unrevoked) devices only: a revoked device has no line and cannot connect. */
export type DeviceCredentials = ReadonlyArray<{ deviceId: string; secretHash: string }>;

/** `username:hash` lines of the devices, as `mosquitto_passwd` writes them. */
export function devicePasswordFile(devices: DeviceCredentials): string {
  const lines = devices.map((d) => {
    // Device ids cannot hold `:` or whitespace, but this file is security-relevant: check again.
    if (!isDeviceId(d.deviceId)) throw new HubError('BAD_CONFIG', `invalid device id ${JSON.stringify(d.deviceId)}`);
    return `${d.deviceId}:${d.secretHash}`;
  });
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** The hub listener's password file: the hub identity only. */
export function hubPasswordFile(hub: { username: string; passwordHash: string }): string {
  return `${hub.username}:${hub.passwordHash}\n`;
}

/** The device listener's ACL; Mosquitto denies whatever it does not grant. */
export function deviceAclFile(): string {
  return [
    '# edgeloop device ACL (generated; the rules of hub/src/broker/acl.ts). Default deny.',
    '# The username is the device id, so %u confines each device to its own topics.',
    'pattern write edgeloop/v1/devices/%u/samples',
    'pattern write edgeloop/v1/devices/%u/telemetry',
    'pattern write edgeloop/v1/devices/%u/status',
    'pattern read edgeloop/v1/devices/%u/acks',
    'pattern read edgeloop/v1/devices/%u/config',
    // A `topic` line outside a `user` block would apply to anonymous clients only; a pattern
    // applies to everyone (Mosquitto warns that it has no %u; that is intended).
    'pattern read edgeloop/v1/models/+/announce',
    '',
  ].join('\n');
}

/** The hub listener's ACL: reads what devices publish, writes acks, configs and announcements. */
export function hubAclFile(hubUsername: string): string {
  return [
    '# edgeloop hub ACL (generated; the rules of hub/src/broker/acl.ts). Default deny.',
    `user ${hubUsername}`,
    'topic read edgeloop/v1/devices/+/samples',
    'topic read edgeloop/v1/devices/+/telemetry',
    'topic read edgeloop/v1/devices/+/status',
    'topic write edgeloop/v1/devices/+/acks',
    'topic write edgeloop/v1/devices/+/config',
    'topic readwrite edgeloop/v1/models/+/announce',
    '',
  ].join('\n');
}

/** Where {@link writeMosquittoFiles} put the files. */
export interface MosquittoFiles {
  devicePasswordFile: string;
  deviceAclFile: string;
  hubPasswordFile: string;
  hubAclFile: string;
}

export interface MosquittoConfOptions {
  files: MosquittoFiles;
  /** Where devices connect (MQTT/TCP, and optionally MQTT/WebSocket for browsers). */
  devices: { host: string; port: number; wsPort?: number };
  /** Where the hub connects; keep it on a private interface. */
  hub: { host: string; port: number };
  /** Directory for `mosquitto.db`. */
  persistenceDir: string;
  /** The largest MQTT packet after its fixed header (the hub's `maxPayloadBytes`). */
  maxRemainingLength: number;
  /**
   * Started as root, Mosquitto switches to this user (default `mosquitto`), which must be able to
   * read the files above. Tests that run as root pass `root`.
   */
  user?: string;
  /** `pid_file`, for `syncMosquitto` to signal a reload. */
  pidFile?: string;
  /**
   * Per-session queue bounds (`max_queued_messages`, `max_queued_bytes`): what a hub session may
   * hold while the hub is away or slow. Beyond them Mosquitto drops silently. Defaults: 100,000
   * messages and 512 MiB.
   */
  maxQueuedMessages?: number;
  maxQueuedBytes?: number;
}

/** A `mosquitto.conf` for the hub; see `hub/docs/mosquitto.md` for why each setting is there. */
export function mosquittoConf(o: MosquittoConfOptions): string {
  const deviceListener = (port: number, websockets: boolean) => [
    `listener ${port} ${o.devices.host}`,
    ...(websockets ? ['protocol websockets'] : []),
    'use_username_as_clientid true',
    'allow_anonymous false',
    `password_file ${o.files.devicePasswordFile}`,
    `acl_file ${o.files.deviceAclFile}`,
    '',
  ];
  return [
    '# edgeloop hub broker (generated). Settings that would lose QoS 1 messages are raised here.',
    'per_listener_settings true',
    ...(o.user ? [`user ${o.user}`] : []),
    ...(o.pidFile ? [`pid_file ${o.pidFile}`] : []),
    // The whole packet: the fixed header is at most 5 bytes. Larger packets disconnect the client.
    `max_packet_size ${o.maxRemainingLength + 5}`,
    'persistence true',
    `persistence_location ${o.persistenceDir.endsWith('/') ? o.persistenceDir : `${o.persistenceDir}/`}`,
    'autosave_interval 30',
    // Per client, above the in-flight window; the default 1000 silently drops the rest.
    `max_queued_messages ${o.maxQueuedMessages ?? 100_000}`,
    `max_queued_bytes ${o.maxQueuedBytes ?? 512 * 2 ** 20}`,
    'max_inflight_messages 100',
    // The hub's sessions must outlive any outage; sessions of vanished clients go after 30 days.
    'persistent_client_expiration 30d',
    'set_tcp_nodelay true',
    '',
    ...deviceListener(o.devices.port, false),
    ...(o.devices.wsPort !== undefined ? deviceListener(o.devices.wsPort, true) : []),
    `listener ${o.hub.port} ${o.hub.host}`,
    'allow_anonymous false',
    `password_file ${o.files.hubPasswordFile}`,
    `acl_file ${o.files.hubAclFile}`,
    '',
  ].join('\n');
}

/**
 * Writes the password and ACL files into `dir`, each atomically (write, then rename), so that a
 * SIGHUP at any moment reads either the old file or the new one.
 */
export async function writeMosquittoFiles(
  dir: string,
  source: { hubUsername: string; hubPassword: string; devices: DeviceCredentials },
): Promise<MosquittoFiles> {
  if (!source.hubPassword) throw new HubError('BAD_CONFIG', 'an external broker needs a hub password');
  const passwordHash = await hashSecret(source.hubPassword);
  const files: MosquittoFiles = {
    devicePasswordFile: join(dir, 'devices.passwd'),
    deviceAclFile: join(dir, 'devices.acl'),
    hubPasswordFile: join(dir, 'hub.passwd'),
    hubAclFile: join(dir, 'hub.acl'),
  };
  await atomicWrite(files.devicePasswordFile, devicePasswordFile(source.devices));
  await atomicWrite(files.deviceAclFile, deviceAclFile());
  await atomicWrite(files.hubPasswordFile, hubPasswordFile({ username: source.hubUsername, passwordHash }));
  await atomicWrite(files.hubAclFile, hubAclFile(source.hubUsername));
  return files;
}

async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  // 0600: the hashes are not secrets, but they are offline-attackable.
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}
