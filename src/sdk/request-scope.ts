import type { SqlFailure } from '../core/app-signal.js';

/** At most this many failed statements are kept per request (a retry loop must not grow memory). */
export const MAX_SQL_FAILURES_PER_REQUEST = 20;

/**
 * What the SDK knows about the request being served, kept in an AsyncLocalStorage so that a failed
 * statement anywhere below the handler is linked to it, and so its SQL tags can name the route.
 */
export interface RequestScope {
  readonly kind: 'request';
  readonly method: string;
  /** The route template as known now (routers know it only once they matched). */
  readonly route: () => string;
  user: string | null;
  errorClass: string | null;
  /** The class of the last failed statement's error: a 5xx with no other error names it. */
  sqlErrorClass: string | null;
  readonly sqlFailures: SqlFailure[];
}

/** Work outside requests (`hindsight.job(name, fn)`): its failed statements become `query_failure` events. */
export interface JobScope {
  readonly kind: 'job';
  readonly name: string;
}

export type Scope = RequestScope | JobScope;

export const UNMATCHED_ROUTE = '(unmatched)';

export const newRequestScope = (method: string, route: () => string): RequestScope => ({
  kind: 'request',
  method: method.toUpperCase(),
  route,
  user: null,
  errorClass: null,
  sqlErrorClass: null,
  sqlFailures: [],
});

/** `DatabaseError`, `TypeError`…: the error's class, or null for a non-object throw. */
export const errorClassOf = (error: unknown): string | null => {
  if (typeof error !== 'object' || error === null) return error === undefined ? null : typeof error;
  const name = (error as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'Error';
};
