import { spawnSync } from 'node:child_process';

/** The browser tests use the built console: build it first if a source is newer (test/support/global-setup.ts). */
export default function buildConsoleIfStale(): void {
  const run = spawnSync(process.execPath, ['scripts/build-console.mjs', '--if-stale'], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error('the admin console did not build (node scripts/build-console.mjs)');
}
