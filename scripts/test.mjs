#!/usr/bin/env node
// Runs vitest, then ends with the plain line "N passed, N failed" read from its JSON report, so that a
// run which executed no test cannot pass for one that did.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';

// One report per run, so two runs side by side never read each other's.
const report = `test-results/vitest-${process.pid}.json`;
mkdirSync('test-results', { recursive: true });
rmSync(report, { force: true });
const run = spawnSync(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
let passed = 0;
let failed = 0;
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed = json.numPassedTests;
  // A file that failed to load has no failed test of its own: count it as one.
  failed = json.numFailedTests || json.numFailedTestSuites || 0;
} catch {
  failed = Math.max(failed, 1);
}
rmSync(report, { force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(run.status !== 0 || failed > 0 || passed === 0 ? 1 : 0);
