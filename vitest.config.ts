import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Each file runs its own engine against the shared PostgreSQL and Redis: two cores, three files at once.
    maxWorkers: 3,
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
