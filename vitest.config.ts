import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources in tests (the `@edgeloop/source`
// export condition), so tests never need a build first.
const resolve = { conditions: ['@edgeloop/source', ...defaultClientConditions] };
const ssr = { resolve: { conditions: ['@edgeloop/source', ...defaultServerConditions] } };

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'protocol',
          root: './protocol',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
