#!/usr/bin/env node
// Runs vitest, then ends with the plain line "N passed, N failed, N skipped" (scripts/test-summary-reporter.mjs
// counts them). A file that fails to load, a hook that throws and an error outside any test count as
// failures; a run that executed no test fails.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';

// One summary per run, so two runs side by side never read each other's.
const summaryFile = `test-results/summary-${process.pid}.json`;
mkdirSync('test-results', { recursive: true });
rmSync(summaryFile, { force: true });
const run = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=./scripts/test-summary-reporter.mjs', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TOKENS_TEST_SUMMARY: summaryFile },
});

let summary;
try {
  summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
} catch {
  // vitest stopped before the end of a run (a broken config, a crash): nothing it counted can be trusted.
  summary = { passed: 0, failed: 1, skipped: 0, failures: [`vitest exited with ${run.status ?? run.signal} before reporting`] };
}
rmSync(summaryFile, { force: true });
const { passed, failed, skipped, failures } = summary;
if (failures.length > 0) console.log(`\nFailures:\n${failures.map((f) => `  ${f}`).join('\n')}`);
if (passed + failed === 0) console.log('\nNo test ran.');
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(run.status !== 0 || failed > 0 || passed + failed === 0 ? 1 : 0);
