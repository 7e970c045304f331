import { HindsightError, transientError, userError } from '../../../core/errors.js';

/** Who we tried to reach, to word the messages. */
export interface ErrorContext {
  readonly target: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly host: string;
  readonly port: number;
  /** `host:port`, or the socket file of a socket directory; `host:port` when absent. */
  readonly address?: string;
}

/** Node socket errors that mean "not there right now", not "wrong setup". */
const UNREACHABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  // No socket file in the socket directory: the server is not running (psql: "Is the server running locally?").
  'ENOENT',
]);

/** SQLSTATEs of a server that is shutting down, starting, crashed or full. */
const UNAVAILABLE_SQLSTATE = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);

/** The host name does not resolve (not a DNS hiccup: EAI_AGAIN is that). */
export function isUnknownHost(error: unknown): boolean {
  const cause = error instanceof HindsightError ? error.cause : error;
  return (cause as { code?: unknown } | null)?.code === 'ENOTFOUND';
}

/** An error the server answered with (a SQLSTATE), other than a lost or refused connection. */
export function isServerRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08') && !code.startsWith('57')
  );
}

/** `GRANT pg_monitor TO <role>;` with the role quoted when it needs to be. */
export function grantMonitor(role: string | null): string {
  const name = role ?? '<role>';
  const quoted = /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
  return `GRANT pg_monitor TO ${quoted};`;
}

export function missingPrivilege(context: ErrorContext, what: string, cause?: unknown): HindsightError {
  return userError(
    'TARGET_PRIVILEGE_MISSING',
    `Role "${context.user ?? '?'}" on target ${context.target} lacks a privilege the agent needs (${what}). ` +
      `Grant it the pg_monitor role, as a superuser: ${grantMonitor(context.user)}`,
    cause,
  );
}

/**
 * Turns whatever `pg` or the socket threw into a HindsightError with a code and a message that
 * says what to do. User errors stop the agent; transient ones are retried with backoff.
 */
export function classifyError(error: unknown, context: ErrorContext): HindsightError {
  if (error instanceof HindsightError) return error;
  const { code, message } = describe(error);
  const where = context.address ?? `${context.host}:${context.port}`;
  const target = `target ${context.target} (${where}, database ${context.database ?? '<default>'})`;

  if (code === '28P01') {
    return userError(
      'TARGET_AUTH_FAILED',
      `Authentication failed for role "${context.user ?? '?'}" on ${target}: check the user name and password in the URL ` +
        '(a role that does not exist is reported the same way).',
      error,
    );
  }
  if (/client password must be a string|password must be a non-empty string/i.test(message)) {
    return userError(
      'TARGET_PASSWORD_MISSING',
      `The server asks role "${context.user ?? '?'}" on ${target} for a password and none was given: ` +
        'put it in the URL, in PGPASSWORD, or in ~/.pgpass (PGPASSFILE).',
      error,
    );
  }
  if (code === '28000') {
    return userError(
      'TARGET_AUTH_REJECTED',
      `The server refused the connection of role "${context.user ?? '?'}" on ${target}: ${message}. ` +
        'Check that the role exists and may log in, and that pg_hba.conf allows it from this host.',
      error,
    );
  }
  if (code === '3D000') {
    return userError(
      'TARGET_DATABASE_MISSING',
      `Database "${context.database ?? '?'}" does not exist on ${target}: fix the database name in the URL.`,
      error,
    );
  }
  if (code === '42501') return missingPrivilege(context, message, error);
  if (code === '57014' || code === '55P03') {
    return transientError(
      'TARGET_SLOW',
      `A monitoring query on ${target} gave up (${message}): the server is slow or a catalog is locked; ` +
        'the sample is skipped and the next one tried.',
      error,
    );
  }
  if (
    (code !== undefined && (UNREACHABLE_ERRNO.has(code) || UNAVAILABLE_SQLSTATE.has(code))) ||
    /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error|not queryable|Query read timeout/i.test(
      message,
    )
  ) {
    return transientError(
      'TARGET_UNREACHABLE',
      `Cannot reach ${target}: ${message}. Retrying with backoff; check that the server is running and reachable.`,
      error,
    );
  }
  if (/SSL|certificate/i.test(message)) {
    return userError(
      'TARGET_TLS',
      `TLS setup with ${target} failed: ${message}. Check sslmode and certificates in the URL.`,
      error,
    );
  }
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    return transientError(
      'TARGET_QUERY_FAILED',
      `A monitoring query on ${target} failed: ${message} (SQLSTATE ${code}).`,
      error,
    );
  }
  return new HindsightError({
    code: 'TARGET_UNEXPECTED',
    kind: 'bug',
    message: `Unexpected error talking to ${target}: ${message}`,
    cause: error,
  });
}

function describe(error: unknown): { code: string | undefined; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    // AggregateError (every address refused) carries the useful code on its parts.
    const first = error instanceof AggregateError ? (error.errors[0] as unknown) : undefined;
    const inner = first instanceof Error ? (first as { code?: unknown }).code : undefined;
    const picked = typeof code === 'string' ? code : typeof inner === 'string' ? inner : undefined;
    const message =
      error.message !== '' ? error.message : first instanceof Error ? first.message : String(picked);
    return { code: picked, message };
  }
  return { code: undefined, message: String(error) };
}
