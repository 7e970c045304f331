/**
 * Errors with a stable code, a kind and a message that says what to do. Each transport reports
 * them in one place (the CLI's main, the API's onError).
 *  - `user`: the input or setup is wrong; fix it and run again (exit code 2).
 *  - `transient`: something we talk to failed; retrying may help (exit code 3).
 *  - `bug`: our fault; please report it (exit code 70, never 1: 1 means a finding).
 */
export type ErrorKind = 'user' | 'transient' | 'bug';

export class HindsightError extends Error {
  override readonly name = 'HindsightError';
  readonly code: string;
  readonly kind: ErrorKind;
  readonly retryable: boolean;

  constructor(init: {
    code: string;
    kind: ErrorKind;
    message: string;
    retryable?: boolean;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.kind = init.kind;
    this.retryable = init.retryable ?? init.kind === 'transient';
  }
}

export const userError = (code: string, message: string, cause?: unknown): HindsightError =>
  new HindsightError({ code, kind: 'user', message, cause });

export const transientError = (code: string, message: string, cause?: unknown): HindsightError =>
  new HindsightError({ code, kind: 'transient', message, cause });

export const isHindsightError = (error: unknown): error is HindsightError => error instanceof HindsightError;
