import {
  isFailedRequest,
  MAX_ROLLUP_CAUSES,
  MAX_ROLLUP_SAMPLES,
  MAX_ROLLUP_USERS,
  rollupBucket,
  type AppEvent,
  type FailureCause,
  type FailureSample,
  type QueryFailure,
  type RouteRollup,
  type SqlFailure,
} from './app-signal.js';

/**
 * Folding app events into `RouteRollup`s and merging rollups of the same key. The PostgreSQL store
 * merges in SQL (migration 0003-app-signals) with exactly these rules, so that both adapters agree:
 *
 * - counts and duration sums add, the maximum duration is the greater;
 * - a user set is the union, and past `MAX_ROLLUP_USERS` the smallest ids (code-unit order) are
 *   kept — hashed ids, so an unbiased sample — with `usersTruncated` set. Keeping the smallest makes
 *   the merge associative and commutative even once truncated;
 * - causes add up by (sqlstate, callSite, query, errorClass); past `MAX_ROLLUP_CAUSES` the most
 *   frequent `MAX_ROLLUP_CAUSES - 1` stay and the rest fold into the all-null cause. Sorted by
 *   count (largest first), then by their fields (null first, code-unit order);
 * - samples keep the first `MAX_ROLLUP_SAMPLES` by time (on a tie, the stored one first);
 * - releases unite, sorted.
 *
 * Query failures outside requests go under method `JOB` and route = the job's name or `(none)`:
 * each counts as one request that failed (duration 0), so that attribution sees them beside the
 * routes; an error-rate rule should leave the `JOB` method out.
 */

/** The method under which query failures outside requests (jobs, scripts) are rolled up. */
export const JOB_METHOD = 'JOB';
/** The route of a query failure whose job is unknown. */
export const NO_JOB_ROUTE = '(none)';

/** The identity of a rollup: service, method, route and bucket. */
export const rollupKey = (r: Pick<RouteRollup, 'service' | 'method' | 'route' | 'bucket'>): string =>
  `${r.service}\u0000${r.method}\u0000${r.route}\u0000${String(r.bucket)}`;

/** Code-unit order, as PostgreSQL's `COLLATE "C"`. */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** Nulls first, then code-unit order (`NULLS FIRST` with `COLLATE "C"`). */
const byNullableText = (a: string | null, b: string | null): number =>
  a === b ? 0 : a === null ? -1 : b === null ? 1 : byText(a, b);

const causeKey = (c: Omit<FailureCause, 'count'>): string =>
  JSON.stringify([c.sqlstate, c.callSite, c.query, c.errorClass]);

const isNullCause = (c: Omit<FailureCause, 'count'>): boolean =>
  c.sqlstate === null && c.callSite === null && c.query === null && c.errorClass === null;

/** Largest count first, then by the cause's fields. */
export const byCauseRank = (a: FailureCause, b: FailureCause): number =>
  b.count - a.count ||
  byNullableText(a.sqlstate, b.sqlstate) ||
  byNullableText(a.callSite, b.callSite) ||
  byNullableText(a.query, b.query) ||
  byNullableText(a.errorClass, b.errorClass);

/** The union of two sorted, bounded id sets: sorted, the smallest `max` kept. */
function uniteIds(
  a: readonly string[],
  b: readonly string[],
  max: number,
): { ids: string[]; truncated: boolean } {
  const all = (b.length === 0 ? [...a] : [...new Set([...a, ...b])]).sort(byText);
  return all.length > max ? { ids: all.slice(0, max), truncated: true } : { ids: all, truncated: false };
}

/** Causes added up by identity, bounded as the module comment says. */
export function mergeCauses(
  causes: readonly FailureCause[],
  max: number = MAX_ROLLUP_CAUSES,
): FailureCause[] {
  const byKey = new Map<string, FailureCause>();
  for (const c of causes) {
    const key = causeKey(c);
    const seen = byKey.get(key);
    byKey.set(key, seen === undefined ? { ...c } : { ...seen, count: seen.count + c.count });
  }
  const ranked = [...byKey.values()].sort(byCauseRank);
  if (ranked.length <= max) return ranked;
  const kept = ranked.filter((c) => !isNullCause(c)).slice(0, max - 1);
  const rest = ranked.reduce((sum, c) => sum + c.count, 0) - kept.reduce((sum, c) => sum + c.count, 0);
  return [...kept, { sqlstate: null, callSite: null, query: null, errorClass: null, count: rest }].sort(
    byCauseRank,
  );
}

/** The first `max` samples by time; a stable sort keeps `a`'s before `b`'s on a tie. */
const firstSamples = (
  a: readonly FailureSample[],
  b: readonly FailureSample[],
  max: number,
): FailureSample[] => [...a, ...b].sort((x, y) => x.at - y.at).slice(0, max);

/** Merges two rollups of the same key (see the module comment for the rules). */
export function mergeRollups(a: RouteRollup, b: RouteRollup): RouteRollup {
  const users = uniteIds(a.users, b.users, MAX_ROLLUP_USERS);
  const failedUsers = uniteIds(a.failedUsers, b.failedUsers, MAX_ROLLUP_USERS);
  return {
    service: a.service,
    method: a.method,
    route: a.route,
    bucket: a.bucket,
    requests: a.requests + b.requests,
    failures: a.failures + b.failures,
    durationMsSum: a.durationMsSum + b.durationMsSum,
    durationMsMax: Math.max(a.durationMsMax, b.durationMsMax),
    users: users.ids,
    failedUsers: failedUsers.ids,
    usersTruncated: a.usersTruncated || b.usersTruncated || users.truncated || failedUsers.truncated,
    causes: mergeCauses([...a.causes, ...b.causes]),
    samples: firstSamples(a.samples, b.samples, MAX_ROLLUP_SAMPLES),
    releases: [...new Set([...a.releases, ...b.releases])].sort(byText),
  };
}

/** Rollups merged by key, in a stable order (bucket, then service, method, route). */
export function mergeRollupList(rollups: readonly RouteRollup[]): RouteRollup[] {
  const byKey = new Map<string, RouteRollup>();
  for (const r of rollups) {
    const key = rollupKey(r);
    const seen = byKey.get(key);
    byKey.set(key, seen === undefined ? r : mergeRollups(seen, r));
  }
  return [...byKey.values()].sort(byRollupOrder);
}

/** Bucket, then service, method, route (code-unit order): how lists and upserts order rollups. */
export const byRollupOrder = (a: RouteRollup, b: RouteRollup): number =>
  a.bucket - b.bucket ||
  byText(a.service, b.service) ||
  byText(a.method, b.method) ||
  byText(a.route, b.route);

/** The cause a failure is counted under: its first failed statement, else only its error class. */
function causeOf(first: SqlFailure | undefined, errorClass: string | null): FailureCause {
  return first === undefined
    ? { sqlstate: null, callSite: null, query: null, errorClass, count: 1 }
    : { sqlstate: first.sqlstate, callSite: first.callSite, query: first.query, errorClass, count: 1 };
}

/** A failure outside any request as a sample: no status, duration, user or error class. */
const jobFailureSample = (event: QueryFailure): FailureSample => ({
  at: event.at,
  status: 0,
  durationMs: 0,
  user: null,
  errorClass: null,
  release: event.release,
  sqlFailures: [event.failure],
});

/** One event as a rollup of its own (merged with the others of its key by `foldEvents`). */
export function eventRollup(event: AppEvent): RouteRollup {
  const bucket = rollupBucket(event.at);
  const releases = event.release === null ? [] : [event.release];
  if (event.kind === 'query_failure') {
    return {
      service: event.service,
      method: JOB_METHOD,
      route: event.job ?? NO_JOB_ROUTE,
      bucket,
      requests: 1,
      failures: 1,
      durationMsSum: 0,
      durationMsMax: 0,
      users: [],
      failedUsers: [],
      usersTruncated: false,
      causes: [causeOf(event.failure, null)],
      samples: [jobFailureSample(event)],
      releases,
    };
  }
  const failed = isFailedRequest(event);
  const users = event.user === null ? [] : [event.user];
  return {
    service: event.service,
    method: event.method,
    route: event.route,
    bucket,
    requests: 1,
    failures: failed ? 1 : 0,
    durationMsSum: event.durationMs,
    durationMsMax: event.durationMs,
    users,
    failedUsers: failed ? users : [],
    usersTruncated: false,
    causes: failed ? [causeOf(event.sqlFailures[0], event.errorClass)] : [],
    samples: failed
      ? [
          {
            at: event.at,
            status: event.status,
            durationMs: event.durationMs,
            user: event.user,
            errorClass: event.errorClass,
            release: event.release,
            sqlFailures: event.sqlFailures,
          },
        ]
      : [],
    releases,
  };
}

/** Inserts `sample` among the first `max` by time, after those of the same time (a stable sort's order). */
function keepFirstSample(samples: FailureSample[], sample: FailureSample, max: number): void {
  const last = samples.at(-1);
  if (samples.length >= max && last !== undefined && last.at <= sample.at) return;
  let i = samples.length;
  while (i > 0 && (samples[i - 1]?.at ?? 0) > sample.at) i -= 1;
  samples.splice(i, 0, sample);
  if (samples.length > max) samples.pop();
}

const NULL_MARK = '\u0001';
const causeId = (
  sqlstate: string | null,
  callSite: string | null,
  query: string | null,
  errorClass: string | null,
): string =>
  `${sqlstate ?? NULL_MARK}\u0000${callSite ?? NULL_MARK}\u0000${query ?? NULL_MARK}\u0000${errorClass ?? NULL_MARK}`;

/**
 * Folds events into one rollup per key, equal to merging `eventRollup` of each in order. Linear in
 * the events, without a rollup object per event (this is the ingest hot path: bench:ingest): per key
 * it gathers counts, user and release sets, cause counts and the first samples, and bounds them once.
 */
export function foldEvents(events: readonly AppEvent[]): RouteRollup[] {
  interface Acc {
    readonly service: string;
    readonly method: string;
    readonly route: string;
    readonly bucket: number;
    requests: number;
    failures: number;
    durationMsSum: number;
    durationMsMax: number;
    readonly users: Set<string>;
    readonly failedUsers: Set<string>;
    readonly causes: Map<
      string,
      {
        sqlstate: string | null;
        callSite: string | null;
        query: string | null;
        errorClass: string | null;
        count: number;
      }
    >;
    readonly samples: FailureSample[];
    readonly releases: Set<string>;
  }
  // Nested maps (service → method → route → bucket) rather than one map on a joined key: no string
  // built per event, and the strings JSON.parse made carry their hash already.
  const byKey = new Map<string, Map<string, Map<string, Map<number, Acc>>>>();
  const accs: Acc[] = [];
  const accFor = (service: string, method: string, route: string, bucket: number): Acc => {
    let methods = byKey.get(service);
    if (methods === undefined)
      byKey.set(service, (methods = new Map<string, Map<string, Map<number, Acc>>>()));
    let routes = methods.get(method);
    if (routes === undefined) methods.set(method, (routes = new Map<string, Map<number, Acc>>()));
    let buckets = routes.get(route);
    if (buckets === undefined) routes.set(route, (buckets = new Map<number, Acc>()));
    let acc = buckets.get(bucket);
    if (acc === undefined) {
      acc = {
        service,
        method,
        route,
        bucket,
        requests: 0,
        failures: 0,
        durationMsSum: 0,
        durationMsMax: 0,
        users: new Set(),
        failedUsers: new Set(),
        causes: new Map(),
        samples: [],
        releases: new Set(),
      };
      buckets.set(bucket, acc);
      accs.push(acc);
    }
    return acc;
  };
  const countCause = (acc: Acc, first: SqlFailure | undefined, errorClass: string | null): void => {
    const sqlstate = first?.sqlstate ?? null;
    const callSite = first?.callSite ?? null;
    const query = first?.query ?? null;
    const id = causeId(sqlstate, callSite, query, errorClass);
    const seen = acc.causes.get(id);
    if (seen === undefined) acc.causes.set(id, { sqlstate, callSite, query, errorClass, count: 1 });
    else seen.count += 1;
  };
  for (const event of events) {
    const job = event.kind === 'query_failure';
    const method = job ? JOB_METHOD : event.method;
    const route = job ? (event.job ?? NO_JOB_ROUTE) : event.route;
    const acc = accFor(event.service, method, route, rollupBucket(event.at));
    acc.requests += 1;
    if (event.release !== null) acc.releases.add(event.release);
    if (event.kind === 'query_failure') {
      acc.failures += 1;
      countCause(acc, event.failure, null);
      keepFirstSample(acc.samples, jobFailureSample(event), MAX_ROLLUP_SAMPLES);
      continue;
    }
    acc.durationMsSum += event.durationMs;
    if (event.durationMs > acc.durationMsMax) acc.durationMsMax = event.durationMs;
    if (event.user !== null) acc.users.add(event.user);
    if (!isFailedRequest(event)) continue;
    acc.failures += 1;
    if (event.user !== null) acc.failedUsers.add(event.user);
    countCause(acc, event.sqlFailures[0], event.errorClass);
    keepFirstSample(
      acc.samples,
      {
        at: event.at,
        status: event.status,
        durationMs: event.durationMs,
        user: event.user,
        errorClass: event.errorClass,
        release: event.release,
        sqlFailures: event.sqlFailures,
      },
      MAX_ROLLUP_SAMPLES,
    );
  }
  const rollups: RouteRollup[] = [];
  for (const acc of accs) {
    const users = uniteIds([...acc.users], [], MAX_ROLLUP_USERS);
    const failedUsers = uniteIds([...acc.failedUsers], [], MAX_ROLLUP_USERS);
    rollups.push({
      service: acc.service,
      method: acc.method,
      route: acc.route,
      bucket: acc.bucket,
      requests: acc.requests,
      failures: acc.failures,
      durationMsSum: acc.durationMsSum,
      durationMsMax: acc.durationMsMax,
      users: users.ids,
      failedUsers: failedUsers.ids,
      usersTruncated: users.truncated || failedUsers.truncated,
      causes: mergeCauses([...acc.causes.values()]),
      samples: acc.samples,
      releases: [...acc.releases].sort(byText),
    });
  }
  return rollups.sort(byRollupOrder);
}
