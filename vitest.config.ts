import { defineConfig } from 'vitest/config';

/**
 * The tiers (vitest projects). A test file belongs to the first tier whose pattern it matches, so each
 * file is in exactly one (docs/testing.md says how to choose). Timeouts fit what a tier's tests do on two
 * cores shared by three files at once: a unit test has nothing to wait for; the others start engines.
 */
const tiers = [
  // Servers of the test's own (redis-server, initdb + pg_ctl) that it stops, kills or breaks.
  { name: 'faults', include: ['test/faults/**/*.test.ts'], testTimeout: 150_000, hookTimeout: 180_000 },
  // fast-check sequences against one engine, hundreds of steps each.
  { name: 'properties', include: ['test/properties/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 60_000 },
  // Headless Chromium (playwright-core) against an engine.
  { name: 'browser', include: ['test/**/*.browser.test.ts'], testTimeout: 60_000, hookTimeout: 90_000 },
  // The built engine or CLI as separate OS processes, as an operator runs them.
  { name: 'e2e', include: ['test/**/*.e2e.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
  // No server at all: pure functions and classes.
  { name: 'unit', include: ['test/**/*.unit.test.ts'], testTimeout: 5_000, hookTimeout: 5_000 },
  // Everything else: the engine in the test's process, on the shared PostgreSQL and Redis.
  { name: 'db', include: ['test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 },
];

export default defineConfig({
  test: {
    // Two cores: three files at once, whatever their tier.
    maxWorkers: 3,
    projects: tiers.map(({ name, include, testTimeout, hookTimeout }, i) => ({
      test: {
        name,
        include,
        exclude: tiers.slice(0, i).flatMap((t) => t.include),
        testTimeout,
        hookTimeout,
        pool: 'forks' as const,
        ...(name === 'unit'
          ? {}
          : {
              // Builds dist/ and the template database, once per run (test/support/global-setup.ts).
              globalSetup: ['test/support/global-setup.ts'],
              // Kysely's FileMigrationProvider imports each migration with import(): inlined, kysely goes
              // through vitest's transform too, which reads the .ts of migrations/ (Node alone cannot).
              server: { deps: { inline: ['kysely'] } },
            }),
      },
    })),
  },
});
