// A vitest reporter that writes what the run's closing line counts to the file named by
// TOKENS_TEST_SUMMARY (scripts/test.mjs prints it once vitest has exited, so that it is the last line).
// Failures are tests that failed, test files or suites that failed on their own (a file that could not be
// imported, a beforeAll or afterAll that threw: their tests never ran), and errors outside any test.
import { writeFileSync } from 'node:fs';

export default class SummaryReporter {
  onTestRunEnd(testModules, unhandledErrors, reason) {
    const summary = { passed: 0, failed: 0, skipped: 0, reason, failures: [] };
    const fail = (what) => {
      summary.failed++;
      summary.failures.push(what);
    };
    for (const module of testModules) {
      let failedTests = 0;
      for (const test of module.children.allTests()) {
        const { state } = test.result();
        if (state === 'passed') summary.passed++;
        else if (state === 'skipped') summary.skipped++;
        else {
          // failed, or pending: it never finished
          failedTests++;
          fail(`${module.relativeModuleId} > ${test.fullName}`);
        }
      }
      const broken = [module, ...module.children.allSuites()].filter((s) => s.errors().length > 0);
      for (const suite of broken) fail(`${module.relativeModuleId}${suite === module ? '' : ` > ${suite.fullName}`}: ${suite.errors()[0].message}`);
      if (module.state() === 'failed' && failedTests === 0 && broken.length === 0) fail(`${module.relativeModuleId}: failed`);
    }
    for (const error of unhandledErrors) fail(`unhandled error: ${error.message}`);
    if (process.env.TOKENS_TEST_SUMMARY) writeFileSync(process.env.TOKENS_TEST_SUMMARY, JSON.stringify(summary));
  }
}
