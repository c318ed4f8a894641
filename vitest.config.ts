import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

const SETUP = fileURLToPath(new URL('./tests/support/vitest-setup.ts', import.meta.url));

// Workspace packages resolve to their TypeScript sources in tests (the `@edgeloop/source`
// export condition), so tests never need a build first.
function project(name: string, testTimeout = 60_000, exclude: string[] = []) {
  return {
    resolve: { conditions: ['@edgeloop/source', ...defaultClientConditions] },
    // Node never uses Vite's `module` condition; with it, vitest would load packages' ESM builds
    // that Node cannot run (the AWS SDK's, for one).
    ssr: { resolve: { conditions: ['@edgeloop/source', ...defaultServerConditions.filter((c) => c !== 'module')] } },
    // Hooks build bundles, train models and launch Chromium: they get the tests' time, not 10 s.
    test: {
      name,
      root: `./${name}`,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      exclude: ['**/node_modules/**', ...exclude],
      setupFiles: [SETUP],
      testTimeout,
      hookTimeout: testTimeout,
    },
  };
}

// The loop's end-to-end test measures how long a retrain takes to reach the fleet (bench:loop
// reports it): it runs alone, after every other project, so the rest of the suite does not share
// the two cores with it.
const LOOP_TEST = 'test/loop.test.ts';
const loopProject = () => {
  const p = project('tests', 900_000);
  return { ...p, test: { ...p.test, name: 'loop', include: [LOOP_TEST], exclude: [], sequence: { groupOrder: 1 } } };
};

export default defineConfig({
  test: {
    // Most suites wait on child processes, sockets and fsyncs: two workers keep both cores busy
    // (vitest's default on a 2-core machine is one).
    maxWorkers: 2,
    projects: [
      project('protocol'),
      project('models', 300_000),
      project('hub', 180_000),
      project('edge-agent', 180_000),
      project('browser-client', 180_000),
      project('tests', 300_000, [LOOP_TEST]),
      loopProject(),
      project('loadtests', 180_000),
    ],
  },
});
