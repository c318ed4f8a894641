// Reads vitest's JSON report: fails if any test was skipped or left as todo (CI may not pass by
// skipping) or if no test ran, and prints the closing line 'N passed, N failed'.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const skipped = [];
for (const file of report.testResults ?? []) {
  for (const t of file.assertionResults ?? []) {
    if (t.status !== 'passed' && t.status !== 'failed') skipped.push(`${file.name}: ${t.fullName} (${t.status})`);
  }
}
const passed = report.numPassedTests ?? 0;
const failed = report.numFailedTests ?? 0;
if (skipped.length > 0) {
  console.error(`ci: ${skipped.length} test(s) did not run, which CI does not allow:\n  ${skipped.join('\n  ')}`);
}
if (passed + failed === 0) console.error('ci: no test ran');
console.log(`${passed} passed, ${failed} failed, ${skipped.length} skipped`);
process.exit(skipped.length > 0 || failed > 0 || passed === 0 ? 1 : 0);
