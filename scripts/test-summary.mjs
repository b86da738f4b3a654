// Prints the closing line of a CI test run from vitest's JSON report, and fails when any test
// was skipped or marked todo: under CI=true every service is started, so nothing may skip.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2] ?? '.tmp/vitest-results.json', 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
if (report.numFailedTests > 0 || skipped > 0 || report.numTotalTests === 0) process.exit(1);
