import { spawnSync } from 'node:child_process';

/** vitest globalSetup: the browser tests use the built console, so build it first if a source is newer. */
export default function buildConsoleIfStale(): void {
  const run = spawnSync(process.execPath, ['scripts/build-console.mjs', '--if-stale'], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error('the admin console did not build (node scripts/build-console.mjs)');
}
