import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources in tests (the `@edgeloop/source`
// export condition), so tests never need a build first.
function project(name: string, testTimeout = 60_000) {
  return {
    resolve: { conditions: ['@edgeloop/source', ...defaultClientConditions] },
    ssr: { resolve: { conditions: ['@edgeloop/source', ...defaultServerConditions] } },
    test: { name, root: `./${name}`, include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout },
  };
}

export default defineConfig({
  test: {
    projects: [project('protocol'), project('models', 300_000), project('hub', 180_000)],
  },
});
