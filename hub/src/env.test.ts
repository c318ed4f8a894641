import { describe, expect, it } from 'vitest';
import { configFor, defaultConfig } from './config.js';
import { configFromEnv } from './env.js';

describe('configFromEnv', () => {
  it('keeps the defaults when nothing is set', () => {
    expect(configFromEnv({}, defaultConfig)).toEqual({ ...defaultConfig, mqtt: { ...defaultConfig.mqtt, url: undefined } });
  });

  it('derives every path from EDGELOOP_DATA_DIR unless a path is set explicitly', () => {
    const c = configFromEnv({ EDGELOOP_DATA_DIR: '/var/lib/edgeloop' }, defaultConfig);
    expect(c.databasePath).toBe('/var/lib/edgeloop/hub.db');
    expect(c.objectStoreUrl).toBe('file:///var/lib/edgeloop/objects');
    const s3 = configFromEnv({ EDGELOOP_DATA_DIR: '/d', EDGELOOP_OBJECT_STORE: 's3://bucket/p' }, defaultConfig);
    expect(s3.objectStoreUrl).toBe('s3://bucket/p');
    expect(s3.databasePath).toBe('/d/hub.db');
  });

  it('switches to the external broker when EDGELOOP_MQTT_URL is set', () => {
    const c = configFromEnv({ EDGELOOP_MQTT_URL: 'mqtt://hub:pw@127.0.0.1:1883', EDGELOOP_MQTT_SHARED_GROUP: 'g1' }, defaultConfig);
    expect(c.mqtt.mode).toBe('external');
    expect(c.mqtt.url).toBe('mqtt://hub:pw@127.0.0.1:1883');
    expect(c.mqtt.sharedGroup).toBe('g1');
  });

  it('parses numbers and refuses bad ones with a clear error', () => {
    const c = configFromEnv({ EDGELOOP_HTTP_PORT: '0', EDGELOOP_MQTT_WS_PORT: '-1', EDGELOOP_MQTT_RATE: '50' }, defaultConfig);
    expect(c.http.port).toBe(0);
    expect(c.mqtt.wsPort).toBe(-1);
    expect(c.mqtt.rateLimit.messagesPerSecond).toBe(50);
    expect(configFromEnv({ EDGELOOP_MAX_STAGED_BLOBS: '0' }, defaultConfig).ingest.maxStagedBlobs).toBe(0);
    expect(configFromEnv({ EDGELOOP_MAX_STAGED_BLOBS: '200000' }, defaultConfig).ingest.maxStagedBlobs).toBe(200_000);
    expect(() => configFromEnv({ EDGELOOP_HTTP_PORT: 'eighty' }, defaultConfig)).toThrow(/EDGELOOP_HTTP_PORT/);
    expect(() => configFromEnv({ EDGELOOP_MQTT_RATE: '0' }, defaultConfig)).toThrow(/≥ 1/);
    expect(() => configFromEnv({ EDGELOOP_LOG_LEVEL: 'loud' }, defaultConfig)).toThrow(/EDGELOOP_LOG_LEVEL/);
  });

  it('keeps overrides of the base config when the data dir moves', () => {
    const base = { ...configFor('/a'), adminToken: 't', preAnnotateIntervalMs: 0 };
    const c = configFromEnv({ EDGELOOP_DATA_DIR: '/b' }, base);
    expect(c.adminToken).toBe('t');
    expect(c.preAnnotateIntervalMs).toBe(0);
    expect(c.databasePath).toBe('/b/hub.db');
  });
});
