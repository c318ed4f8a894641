/**
 * The retained MQTT announcement of a model's newest release. It is a hint only: a device that
 * sees it checks the TUF repository now instead of at its next poll, and trusts nothing in the
 * message itself. Retained, so a device that connects later gets it at once.
 */
import { announceTopic, encodeJson } from '@edgeloop/protocol';

/** What `announce` needs from the broker (`HubBroker` fits). */
export interface AnnounceBroker {
  publish(topic: string, payload: Uint8Array, options: { retain: boolean }): Promise<void>;
}

export interface AnnouncementInput {
  model: string;
  version: number;
  /** The timestamp metadata version that carries the release (`PublishedRelease.versions.timestamp`). */
  timestampVersion: number;
  /** The repository's URL, relative to the hub's base URL unless absolute (default `/tuf/`). */
  repository?: string;
  /** Set while the release is a canary for one cohort; absent for the whole fleet. */
  cohort?: string;
  publishedAt?: Date;
}

/** Publishes the retained announcement on `announceTopic(model)`; returns the topic. */
export async function announce(broker: AnnounceBroker, input: AnnouncementInput): Promise<string> {
  const topic = announceTopic(input.model);
  const payload = encodeJson('announcement', {
    v: 1,
    model: input.model,
    version: input.version,
    timestampVersion: input.timestampVersion,
    publishedAt: (input.publishedAt ?? new Date()).toISOString(),
    repository: input.repository ?? '/tuf/',
    ...(input.cohort !== undefined ? { cohort: input.cohort } : {}),
  });
  await broker.publish(topic, payload, { retain: true });
  return topic;
}
