import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { SqlFailure } from '../core/app-signal.js';
import { MAX_SQL_FAILURES_PER_REQUEST, errorClassOf, newRequestScope } from './request-scope.js';
import type { RequestScope, Scope } from './request-scope.js';
import type { WireEvent } from './wire-event.js';

export interface RecorderDeps {
  readonly emit: (event: WireEvent) => void;
  readonly release: () => string | null;
  readonly now: () => number;
  readonly bug: (error: unknown) => void;
}

/**
 * Text is cut to what the server accepts (`POST /api/v1/events`: route and call site 512, error class
 * and job 200, release 100) and NUL characters dropped, so one odd value never costs an event.
 */
export const clip = (text: string, max: number): string => {
  const clean = text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
  return clean.length <= max ? clean : clean.slice(0, max);
};
const clipOrNull = (text: string | null, max: number): string | null =>
  text === null ? null : clip(text, max);

/** A request being timed: its scope and when it began (performance.now()). */
export interface OpenRequest {
  readonly scope: RequestScope;
  readonly startedAt: number;
}

/**
 * What every framework adapter shares: open a request's scope, run the app inside it, and turn its
 * end into one `request` event (failed statements of the request ride along in it).
 */
export class RequestRecorder {
  readonly storage = new AsyncLocalStorage<Scope>();
  readonly #deps: RecorderDeps;

  constructor(deps: RecorderDeps) {
    this.#deps = deps;
  }

  open(method: string | undefined, route: () => string): OpenRequest {
    return { scope: newRequestScope(method ?? 'GET', route), startedAt: performance.now() };
  }

  /** Records the request's end; `error` is what the framework saw it fail with, if anything. */
  close(request: OpenRequest, status: number, error?: unknown): void {
    try {
      const durationMs = Math.round((performance.now() - request.startedAt) * 1000) / 1000;
      const { scope } = request;
      const errorClass =
        (error === undefined ? null : errorClassOf(error)) ??
        scope.errorClass ??
        (status >= 500 ? scope.sqlErrorClass : null);
      this.#deps.emit({
        kind: 'request',
        at: this.#deps.now(),
        method: scope.method,
        route: clip(scope.route(), 512) || '/',
        status,
        durationMs,
        user: scope.user,
        errorClass: clipOrNull(errorClass, 200),
        release: clipOrNull(this.#deps.release(), 100),
        sqlFailures: scope.sqlFailures,
      });
    } catch (bug) {
      this.#deps.bug(bug);
    }
  }

  /** A failed statement: into its request, or a `query_failure` event outside requests. */
  sqlFailed(scope: Scope | undefined, failure: SqlFailure, errorClass: string | null): void {
    if (scope?.kind === 'request') {
      if (scope.sqlFailures.length < MAX_SQL_FAILURES_PER_REQUEST) scope.sqlFailures.push(failure);
      scope.sqlErrorClass = errorClass;
      return;
    }
    this.#deps.emit({
      kind: 'query_failure',
      at: this.#deps.now(),
      job: scope?.kind === 'job' ? clip(scope.name, 200) : null,
      release: clipOrNull(this.#deps.release(), 100),
      failure,
    });
  }
}
