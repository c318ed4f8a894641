import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topicId } from '../test/arbitraries.js';
import { ProtocolError } from './errors.js';
import { isDeviceId } from './ids.js';
import { allDevicesFilter, DEVICE_CHANNELS, deviceMayPublish, deviceMaySubscribe, deviceTopic, parseTopic } from './topics.js';

describe('topics', () => {
  it('build and parse back for every valid id and channel', () => {
    fc.assert(
      fc.property(topicId, fc.constantFrom(...DEVICE_CHANNELS), (id, channel) => {
        expect(parseTopic(deviceTopic(id, channel))).toEqual({ kind: 'device', deviceId: id, channel });
      }),
    );
  });

  it('never accept an id with a wildcard, a separator or a leading $', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('+', '#', '/', '\u0000'), fc.string(), (a, bad, b) => {
        expect(isDeviceId(a + bad + b)).toBe(false);
        expect(() => deviceTopic(a + bad + b, 'samples')).toThrow(ProtocolError);
      }),
    );
    expect(isDeviceId('$SYS')).toBe(false);
  });

  it('deny a device every topic but its own (publish) and its acks/config/announcements (subscribe)', () => {
    fc.assert(
      fc.property(topicId, topicId, fc.constantFrom(...DEVICE_CHANNELS), (me, other, channel) => {
        fc.pre(me !== other);
        expect(deviceMayPublish(me, deviceTopic(other, channel))).toBe(false);
        expect(deviceMaySubscribe(me, deviceTopic(other, channel))).toBe(false);
        expect(deviceMayPublish(me, deviceTopic(me, channel))).toBe(['samples', 'telemetry', 'status'].includes(channel));
        expect(deviceMaySubscribe(me, deviceTopic(me, channel))).toBe(['acks', 'config'].includes(channel));
        expect(deviceMaySubscribe(me, allDevicesFilter(channel))).toBe(false);
      }),
    );
  });

  it('ignore topics outside the layout', () => {
    for (const t of ['', 'edgeloop', 'edgeloop/v2/devices/a/samples', 'edgeloop/v1/devices/a/samples/x', 'edgeloop/v1/devices/a/other']) {
      expect(parseTopic(t)).toBeUndefined();
    }
  });
});
