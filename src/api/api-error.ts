import type { Context } from 'hono';
import type { ZodError } from 'zod';
import { HindsightError, isHindsightError } from '../core/errors.js';
import type { Logger } from '../platform/logger.js';

export type ErrorDetails = Readonly<Record<string, unknown>>;

/** An error that knows its HTTP status: authentication, authorization, validation, size. */
export class ApiError extends HindsightError {
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415;
  readonly details: ErrorDetails;

  constructor(init: { status: ApiError['status']; code: string; message: string; details?: ErrorDetails }) {
    super({ code: init.code, kind: 'user', message: init.message });
    this.status = init.status;
    this.details = init.details ?? {};
  }
}

/** The body of every error reply. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details: ErrorDetails;
}

export interface FieldIssue {
  /** Where, as a path into the request: `body.findings[0].kind`, `query.state`, `params.id`. */
  readonly field: string;
  readonly message: string;
}

const fieldPath = (part: string, path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`),
    part,
  );

/** A zod failure as a 400 that names every bad field, the first one in the message. */
export function invalidRequest(part: 'body' | 'query' | 'params', error: ZodError): ApiError {
  const issues: FieldIssue[] = error.issues.map((issue) => ({
    field: fieldPath(part, issue.path),
    message: issue.message,
  }));
  const first = issues[0] ?? { field: part, message: 'invalid' };
  const more =
    issues.length > 1
      ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''} in details.issues)`
      : '';
  return new ApiError({
    status: 400,
    code: 'INVALID_REQUEST',
    message: `${first.field}: ${first.message}${more}`,
    details: { issues },
  });
}

/**
 * The HTTP status of an error from a use case: `*_NOT_FOUND` 404, `*_CONFLICT` 409 (a concurrent or
 * impossible change), other `user` errors 400, `transient` 503, `bug` 500.
 */
export function statusOf(error: HindsightError): 400 | 401 | 403 | 404 | 409 | 413 | 415 | 500 | 503 {
  if (error instanceof ApiError) return error.status;
  if (error.code.endsWith('_NOT_FOUND')) return 404;
  if (error.code.endsWith('_CONFLICT')) return 409;
  switch (error.kind) {
    case 'user':
      return 400;
    case 'transient':
      return 503;
    case 'bug':
      return 500;
  }
}

/**
 * The one error reporter of the HTTP transport (Hono `onError`): a `HindsightError` becomes
 * `{ code, message, details }` with its status; anything else is a 500 with no stack in the reply
 * (the stack goes to the server log).
 */
export function createErrorHandler(logger: Logger): (error: Error, c: Context) => Response {
  return (error, c) => {
    if (isHindsightError(error)) {
      const status = statusOf(error);
      if (status >= 500)
        logger.error({ err: error, method: c.req.method, path: c.req.path }, 'request failed');
      return reply(c, error);
    }
    logger.error({ err: error, method: c.req.method, path: c.req.path }, 'request failed: unexpected error');
    return c.json<ErrorBody>(
      { code: 'INTERNAL', message: 'internal error; the server log has the details', details: {} },
      500,
    );
  };
}

const reply = (c: Context, error: HindsightError): Response => {
  const details = error instanceof ApiError ? error.details : {};
  return c.json<ErrorBody>({ code: error.code, message: error.message, details }, statusOf(error));
};
