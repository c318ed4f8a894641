import { describe, expect, it } from 'vitest';
import { cohortPoint, inCanaryCohort, repositoryPathFor } from './cohort.js';
import { defaultRolloutConfig } from './config.js';
import { type CanaryHealth, judgeCanary } from './health.js';

const agg = (total: number, low: number, mean: number) => ({ windows: 1, devices: 1, total, lowConfidenceRate: low, meanConfidence: mean });
const config = { ...defaultRolloutConfig, minPredictions: 100 };

describe('canary cohort', () => {
  it('is a deterministic, roughly uniform share of device ids', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `device-${i}`);
    const share = ids.filter((id) => inCanaryCohort(id, 10)).length / ids.length;
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.12);
    expect(cohortPoint('device-1')).toBe(cohortPoint('device-1'));
    expect(cohortPoint('device-1', 'other salt')).not.toBe(cohortPoint('device-1'));
    expect(ids.filter((id) => inCanaryCohort(id, 0))).toEqual([]);
    expect(ids.every((id) => inCanaryCohort(id, 100))).toBe(true);
    expect(repositoryPathFor('device-1', 100)).toBe('/tuf-canary/');
    expect(repositoryPathFor('device-1', 0)).toBe('/tuf/');
  });
});

describe('canary verdict', () => {
  const healthy: CanaryHealth = { canary: agg(500, 0.1, 0.85), baseline: agg(5000, 0.12, 0.84), cohortDevices: 10, staleDevices: [] };
  it('promotes a canary within the limits', () => {
    expect(judgeCanary(healthy, config).action).toBe('promote');
  });
  it('waits for enough predictions', () => {
    expect(judgeCanary({ ...healthy, canary: agg(50, 0.1, 0.85) }, config).action).toBe('wait');
  });
  it('rolls back on more low-confidence predictions, lower confidence, or devices that did not update', () => {
    expect(judgeCanary({ ...healthy, canary: agg(500, 0.3, 0.85) }, config)).toMatchObject({ action: 'rollback' });
    expect(judgeCanary({ ...healthy, canary: agg(500, 0.1, 0.6) }, config).reasons.join()).toMatch(/mean confidence/);
    expect(judgeCanary({ ...healthy, staleDevices: ['a', 'b', 'c'] }, config).reasons.join()).toMatch(/did not update/);
    const { baseline: _b, ...first } = healthy;
    expect(judgeCanary({ ...first, canary: agg(500, 0.6, 0.5) }, config).action).toBe('rollback');
    expect(judgeCanary(first, config).action).toBe('promote');
  });
});
