/**
 * The CI rule for suites that need an outside part (Chromium, Mosquitto, Python tools): outside
 * CI a missing part skips the suite with a notice; with `CI=true` it fails instead, so CI can never
 * pass by skipping. `.ci/run` also fails the run if the test report counts any skipped test.
 */
export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Returns whether a suite may run. Call it at collection time and pass the result to
 * `describe.runIf`. In CI a missing requirement throws, failing the file.
 */
export function requirePart(part: string, available: boolean, howToGet: string): boolean {
  if (available) return true;
  if (inCI) throw new Error(`CI=true: ${part} is required but missing (${howToGet})`);
  console.warn(`[skip] ${part} is missing, so its suite is skipped here: ${howToGet}`);
  return false;
}
