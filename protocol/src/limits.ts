/**
 * Size limits are part of the contract: a sender must not exceed them and a receiver rejects
 * anything larger before parsing it. Brokers are configured with {@link MAX_MQTT_PAYLOAD_BYTES}.
 */

/** Largest image a sample may carry. Edges downscale larger captures before sending. */
export const MAX_IMAGE_BYTES = 1_000_000;

/** Largest JSON header inside a sample frame. */
export const MAX_SAMPLE_HEADER_BYTES = 16 * 1024;

/** Largest whole sample frame: 8 bytes of preamble, the header and the image. */
export const MAX_SAMPLE_FRAME_BYTES = 8 + MAX_SAMPLE_HEADER_BYTES + MAX_IMAGE_BYTES;

/** Largest JSON message (acks, telemetry, status, config, announcements). */
export const MAX_JSON_MESSAGE_BYTES = 256 * 1024;

/** The broker's payload cap: the largest message of any kind. */
export const MAX_MQTT_PAYLOAD_BYTES = Math.max(MAX_SAMPLE_FRAME_BYTES, MAX_JSON_MESSAGE_BYTES);

/** Most labels a model may have (bounds telemetry and probability vectors). */
export const MAX_LABELS = 1000;

/** Most sample ids in one ack. */
export const MAX_IDS_PER_ACK = 1000;

/** Image side limits, checked from the header before any decoding. */
export const MAX_IMAGE_SIDE = 8192;
