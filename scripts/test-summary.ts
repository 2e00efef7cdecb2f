/** Prints "N passed, N failed[, N skipped]" from vitest's JSON report; exits 1 if it is missing. */
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report: { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number; numTotalTestSuites: number; testResults: { status: string }[] };
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  console.log('0 passed, 1 failed');
  console.error(`no vitest report at ${file}: the run did not finish`);
  process.exit(1);
}
// A test file that failed to load has no test results; count it as a failure.
const brokenFiles = report.testResults.filter((r) => r.status === 'failed').length;
const failed = report.numFailedTests || (brokenFiles ? brokenFiles : 0);
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
