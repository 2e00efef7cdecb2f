/**
 * Prints "N passed, N failed[, N skipped]" from vitest's JSON report plus the static checks scripts/test.sh
 * ran (arguments `lint=passed`, `cycles=failed`...: one test each). Exits 1 if the report is missing or a
 * check failed; a failed check is named on stderr next to the summary, where it cannot be missed.
 */
import { readFileSync } from 'node:fs';

const [file, ...checkArgs] = process.argv.slice(2);
const checks = checkArgs.map((a) => ({ name: a.slice(0, a.lastIndexOf('=')), ok: a.endsWith('=passed') }));
const checksFailed = checks.filter((c) => !c.ok);
for (const c of checksFailed) console.error(`FAILED: npm run ${c.name} (its findings are printed above the tests)`);
const checksPassed = checks.length - checksFailed.length;

let report: { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number; numTotalTestSuites: number; testResults: { status: string }[] };
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  console.log(`${checksPassed} passed, ${checksFailed.length + 1} failed`);
  console.error(`no vitest report at ${file}: the run did not finish`);
  process.exit(1);
}
// A test file that failed to load has no test results; count it as a failure.
const brokenFiles = report.testResults.filter((r) => r.status === 'failed').length;
const failed = (report.numFailedTests || (brokenFiles ? brokenFiles : 0)) + checksFailed.length;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests + checksPassed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (checksFailed.length) process.exit(1);
