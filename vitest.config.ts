import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The browser tests drive the built admin console: build it when a source is newer than the build.
    globalSetup: ['test/support/console-build.ts'],
    pool: 'forks',
    execArgv: ['--import', 'tsx'],
    // Each file runs its own engine against the shared PostgreSQL and Redis: two cores, three files at once.
    maxWorkers: 3,
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
