/**
 * Names why tuf-js refused an update, as an {@link AgentError} code. tuf-js 5 throws typed errors
 * from the root and timestamp steps but re-throws snapshot and targets failures as a plain
 * `RuntimeError` whose message embeds the original one (and its class is lost: every class is named
 * `Error`). So the fetcher's own record comes first, then the class, then the message, and each rule
 * names the TUF client step (specification §5) whose check it reports.
 */
import { LengthOrHashMismatchError } from '@tufjs/models/dist/error.js';
import { BadVersionError, DownloadHTTPError, ExpiredMetadataError } from 'tuf-js/dist/error.js';
import { AgentError, type AgentErrorCode } from '../errors.js';

const RULES: [RegExp, AgentErrorCode][] = [
  // §5.3.4, §5.4.2, §5.5.3, §5.6.3: signatures from a threshold of the role's keys.
  [/signed by \d+\/\d+ keys|no signature|failed to verify|no delegation found/i, 'UPDATE_UNSIGNED'],
  // §5.3.10, §5.4.4, §5.5.6, §5.6.5: freeze attacks.
  [/expired/i, 'UPDATE_EXPIRED'],
  // §5.5.2, §5.6.2: hashes and length of the file the signed parent describes.
  [/Expected (hash|length)|Hash algorithm .* not supported/i, 'UPDATE_HASH_MISMATCH'],
  // §5.3.5, §5.4.3, §5.5.5: a trusted version never goes down.
  [/less than current version|is less than|Expected version \d+, got/i, 'UPDATE_ROLLBACK'],
  // §5.5.4, §5.6.4: the versions the parent role names must match (mix-and-match).
  [/does not match snapshot version|Snapshot version doesn't match timestamp/i, 'UPDATE_ROLLBACK'],
  // A file the repository does not have.
  [/HTTP \d{3}|Failed to download/i, 'UPDATE_FETCH_FAILED'],
];

/** The error to report for a failed TUF refresh or download. */
export function classifyUpdateError(error: unknown, fetcherFailure?: AgentError): AgentError {
  if (error instanceof AgentError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // A size, time or redirect failure of the fetcher is what stopped tuf-js, whatever it wrapped it in.
  if (fetcherFailure && message.includes(fetcherFailure.message)) return fetcherFailure;
  const code = codeOf(error, message);
  return new AgentError(code, `update rejected: ${message}`, { cause: error });
}

function codeOf(error: unknown, message: string): AgentErrorCode {
  if (error instanceof ExpiredMetadataError) return 'UPDATE_EXPIRED';
  if (error instanceof BadVersionError) return 'UPDATE_ROLLBACK';
  if (error instanceof LengthOrHashMismatchError) return 'UPDATE_HASH_MISMATCH';
  if (error instanceof DownloadHTTPError) return 'UPDATE_FETCH_FAILED';
  // A failed system call (disk full, permissions) while installing, not a verdict on the update.
  if (typeof (error as NodeJS.ErrnoException)?.syscall === 'string' || /Failed to persist/.test(message)) return 'UPDATE_INSTALL_FAILED';
  for (const [pattern, code] of RULES) if (pattern.test(message)) return code;
  // Anything else is metadata that does not parse or does not fit the TUF format (§4).
  return 'UPDATE_BAD_METADATA';
}
