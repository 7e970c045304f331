import { CommanderError } from 'commander';
import { isHindsightError } from '../core/errors.js';

/**
 * Exit codes, one contract for every command: 0 ok, 1 a finding (race, analyze checks, demo --ci),
 * 2 bad input or setup, 3 something we talk to failed, 70 a bug of ours (sysexits' EX_SOFTWARE) —
 * never 1, so that a crash in CI is not read as a race found.
 */
export const EXIT = { ok: 0, finding: 1, user: 2, transient: 3, bug: 70 } as const;

/**
 * The CLI's one place that turns an error into a line on stderr and an exit code: known errors
 * print their code and message (which says what to do); anything else is a bug with its stack.
 */
export function reportError(
  error: unknown,
  write: (line: string) => void = (l) => process.stderr.write(l),
): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.user;
  if (isHindsightError(error)) {
    write(`hindsight: ${error.message} [${error.code}]\n`);
    return error.kind === 'user' ? EXIT.user : error.kind === 'transient' ? EXIT.transient : EXIT.bug;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  write(`hindsight: unexpected error — this is a bug, please report it with the lines below.\n${detail}\n`);
  return EXIT.bug;
}
