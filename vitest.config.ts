import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources in tests (the `@edgeloop/source`
// export condition), so tests never need a build first.
function project(name: string, testTimeout = 60_000) {
  return {
    resolve: { conditions: ['@edgeloop/source', ...defaultClientConditions] },
    // Node never uses Vite's `module` condition; with it, vitest would load packages' ESM builds
    // that Node cannot run (the AWS SDK's, for one).
    ssr: { resolve: { conditions: ['@edgeloop/source', ...defaultServerConditions.filter((c) => c !== 'module')] } },
    // Hooks build bundles, train models and launch Chromium: they get the tests' time, not 10 s.
    test: { name, root: `./${name}`, include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout, hookTimeout: testTimeout },
  };
}

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
      project('tests', 300_000),
      project('loadtests', 180_000),
    ],
  },
});
