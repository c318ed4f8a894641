import { describe, expect, it } from 'vitest';
import { runGoldenVectors } from './golden-runner.js';

describe('golden vectors (Node)', () => {
  it('passes every vector', async () => {
    const report = await runGoldenVectors();
    expect(report.failures).toEqual([]);
    expect(report.checks).toBeGreaterThan(150);
  });
});
