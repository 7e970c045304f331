/**
 * The web app's side of an incident: what its requests did, as the SDK (`hindsight/sdk`) reports it
 * or as it is derived from OpenTelemetry spans. Requests are not stored one by one: the server folds
 * them into `RouteRollup`s per service, route and 10 s bucket (see app-signal-rollup.ts), keeping a
 * bounded sample of failures. Times are epoch milliseconds. Text here comes from the monitored world
 * (routes, queries, error classes): render it as text.
 */

/** A SQL statement that failed, as the app saw it. */
export interface SqlFailure {
  /** PostgreSQL's SQLSTATE, e.g. `40P01` (deadlock), `55P03`, `40001`, `57014`, `23505`. */
  readonly sqlstate: string;
  /** The statement, normalized (literals replaced), without its sqlcommenter tags. */
  readonly query: string;
  /** The first stack frame in the app's own code, `path/to/file.ts:88` (relative to the app's root), or null. */
  readonly callSite: string | null;
}

/** One request the app served. */
export interface RequestOutcome {
  readonly kind: 'request';
  readonly service: string;
  /** When it ended. */
  readonly at: number;
  /** Upper case, e.g. `POST`. */
  readonly method: string;
  /** The route *template* (`/orders/:id`), never the raw path; `(unmatched)` when no route matched. */
  readonly route: string;
  readonly status: number;
  readonly durationMs: number;
  /** The app's opaque user id, hashed before it left the process; null when the app supplies none. */
  readonly user: string | null;
  /** The class of the error it failed with (`DatabaseError`), or null. */
  readonly errorClass: string | null;
  /** The app's release (version) when it served the request, or null. */
  readonly release: string | null;
  /** The SQL statements that failed during the request, in order. */
  readonly sqlFailures: readonly SqlFailure[];
}

/** A SQL failure outside any request (a background job, a script). */
export interface QueryFailure {
  readonly kind: 'query_failure';
  readonly service: string;
  readonly at: number;
  /** What ran it when known (a job's name), else null. */
  readonly job: string | null;
  readonly release: string | null;
  readonly failure: SqlFailure;
}

export type AppEvent = RequestOutcome | QueryFailure;

/** A request failed when it answered 5xx or threw. A 4xx is the client's mistake, not an outage. */
export const isFailedRequest = (r: Pick<RequestOutcome, 'status' | 'errorClass'>): boolean =>
  r.status >= 500 || r.errorClass !== null;

/** The rollup bucket width: requests are stored per service, route and 10 s. */
export const ROLLUP_BUCKET_MS = 10_000;

/** The start of the bucket `at` falls in. */
export const rollupBucket = (at: number): number => Math.floor(at / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS;

/** What failures of one route carried: a cause and how many failures had it. */
export interface FailureCause {
  /** The SQLSTATE of the request's first failed statement, or null (a failure without SQL error). */
  readonly sqlstate: string | null;
  readonly callSite: string | null;
  readonly query: string | null;
  readonly errorClass: string | null;
  readonly count: number;
}

/** A failed request kept as an example (a bounded number per rollup). */
export interface FailureSample {
  readonly at: number;
  readonly status: number;
  readonly durationMs: number;
  readonly user: string | null;
  readonly errorClass: string | null;
  readonly release: string | null;
  readonly sqlFailures: readonly SqlFailure[];
}

/**
 * The requests of one service and route in one 10 s bucket. Rollups of the same key merge
 * (counts add, user sets unite, causes add up): see `mergeRollups` in app-signal-rollup.ts.
 * Query failures outside requests are kept under method `JOB` and route = the job's name (or `(none)`).
 */
export interface RouteRollup {
  readonly service: string;
  readonly method: string;
  readonly route: string;
  /** The bucket's start (`rollupBucket`). */
  readonly bucket: number;
  readonly requests: number;
  readonly failures: number;
  readonly durationMsSum: number;
  readonly durationMsMax: number;
  /** Hashed ids of the users with a request in the bucket (at most `MAX_ROLLUP_USERS`). */
  readonly users: readonly string[];
  /** Hashed ids of the users with a failed request (at most `MAX_ROLLUP_USERS`). */
  readonly failedUsers: readonly string[];
  /** True when a user set reached its bound: user counts are then lower bounds. */
  readonly usersTruncated: boolean;
  /** Failures by cause, most frequent first (at most `MAX_ROLLUP_CAUSES`; the rest under a null cause). */
  readonly causes: readonly FailureCause[];
  /** The first failures of the bucket (at most `MAX_ROLLUP_SAMPLES`). */
  readonly samples: readonly FailureSample[];
  /** The releases that served requests in the bucket. */
  readonly releases: readonly string[];
}

export const MAX_ROLLUP_USERS = 10_000;
export const MAX_ROLLUP_CAUSES = 20;
export const MAX_ROLLUP_SAMPLES = 5;

/** A release of a service going out: `hindsight deploy`, `POST /api/v1/deploys`. */
export interface Deploy {
  readonly id: string;
  readonly service: string;
  readonly version: string;
  readonly commit: string | null;
  readonly at: number;
  /** Who recorded it: the token's name. */
  readonly actor: string;
}

/**
 * sqlcommenter tags (https://google.github.io/sqlcommenter/spec/): `/*key='url-encoded value',…*\/`,
 * keys sorted. The SDK writes them first in the statement (PostgreSQL cuts the text it logs and shows
 * at `track_activity_query_size`); the agent reads them back from either end.
 */
export interface SqlTags {
  readonly service?: string;
  /** `POST /checkout`: the method and route template of the request that ran the statement. */
  readonly route?: string;
  readonly release?: string;
  /** `src/checkout.ts:88`. */
  readonly callsite?: string;
  /** The job that ran it, outside requests. */
  readonly job?: string;
}
