import { createHmac } from 'node:crypto';
import type { AppEvent, QueryFailure, RequestOutcome, SqlFailure } from '../../../core/app-signal.js';
import { normalizeQuery } from '../../../core/query-normalizer.js';
import { parseSqlTags } from '../../../core/sql-comment-tags.js';
import {
  SPAN_KIND_SERVER,
  STATUS_CODE_ERROR,
  type OtlpAttributes,
  type OtlpResourceSpans,
  type OtlpSpan,
  type OtlpValue,
} from './otlp-trace-decoder.js';

/**
 * OpenTelemetry spans → the same AppEvents the SDK sends (pure: no clock, no I/O).
 *
 * - An HTTP **server** span (kind SERVER with `http.request.method`, or the older `http.method`) is one
 *   `RequestOutcome`: service and release from the resource's `service.name` / `service.version`;
 *   route from `http.route` — never the raw path: `(unmatched)` without one; status from
 *   `http.response.status_code` | `http.status_code`; duration from the span's start and end;
 *   user from `enduser.id`, hashed here as the SDK hashes it (`hashUserId`) since OpenTelemetry sends it raw; error class
 *   from its first `exception` event's `exception.type`, else `Error` when the span's status is ERROR
 *   on a response below 500 (a 5xx fails the request by itself).
 * - A failed PostgreSQL span (`db.system.name` | `db.system` = `postgresql`, with status ERROR or a
 *   SQLSTATE) is a `SqlFailure`: SQLSTATE from `db.response.status_code`, an `error.type` that is a
 *   SQLSTATE, or the `(code: 40P01)` that @opentelemetry/instrumentation-pg writes in its exception
 *   event (0.76 sets no status-code attribute on the span); query from `db.query.text` | `db.statement`,
 *   sqlcommenter tags stripped, normalized; call site from `code.file.path` + `code.line.number` |
 *   `code.filepath` + `code.lineno`, else the statement's `callsite` tag. It joins the request whose
 *   server span is its nearest server ancestor (parent chain); with no server span above it, it is
 *   a `QueryFailure` (job from the `job` tag). A failed span without any SQLSTATE (a refused
 *   connection) is no SQL failure and is left out.
 * Other spans are ignored. A server span without a status code is rejected (counted, with a reason).
 *
 * A span ends before its parent, so the BatchSpanProcessor may export a request's failed statement
 * in one batch and its server span in the next. A failure whose chain breaks at a span missing from
 * the batch is therefore *held* (returned in `held`, passed back with the next batch) and joins the
 * request when its ancestors arrive; held longer than `holdMs`, or pushed out by `maxHeld`, it is
 * given up as a `QueryFailure`.
 */

/** A failed statement waiting for the spans above it (an earlier batch had it, not them). */
export interface HeldFailure {
  readonly traceId: string;
  /** The ancestor span that was missing, where the parent chain continues. */
  readonly awaitedSpanId: string;
  /** When it was first held (the receiver's clock). */
  readonly heldAt: number;
  readonly start: bigint;
  /** What it becomes when no request claims it. */
  readonly fallback: QueryFailure;
}

export interface ConvertedSpans {
  readonly events: AppEvent[];
  /** Spans that looked like requests but could not be read. */
  readonly rejected: number;
  /** Why, for the first few. */
  readonly problems: string[];
  /** Failures still waiting for their ancestors: pass them with the next batch. */
  readonly held: HeldFailure[];
}

export interface ConvertOptions {
  /** Failures held from earlier batches. */
  readonly held?: readonly HeldFailure[];
  /** The receiver's clock, for holding. Default 0 (with the default holdMs 0: nothing is held). */
  readonly now?: number;
  /** How long a failure waits for its ancestors. Default 0: not at all. */
  readonly holdMs?: number;
  /** At most this many held; the oldest beyond are given up. Default 10,000. */
  readonly maxHeld?: number;
}

const MAX_PROBLEMS = 5;
const MAX_PARENT_HOPS = 128;
const UNKNOWN_SERVICE = 'unknown_service';

/*
 * Values are fitted to what `POST /api/v1/events` accepts (api/schemas/event-schemas.ts), so that a
 * span becomes exactly what the SDK could have sent: NUL characters dropped (PostgreSQL's text
 * refuses them), text cut to its bound, a service name made of the characters names may hold.
 */
const MAX_ROUTE = 512;
const MAX_CALL_SITE = 512;
const MAX_ERROR_CLASS = 200;
const MAX_JOB = 200;
const MAX_RELEASE = 100;
const MAX_QUERY = 8_000;
const MAX_SQL_FAILURES = 50;
const MAX_DURATION_MS = 86_400_000;

const clean = (s: string): string => s.replaceAll('\u0000', '');
const head = (s: string, max: number): string => clean(s).slice(0, max);
/** A call site keeps its end (file and line), as the SDK does. */
const tail = (s: string, max: number): string => clean(s).slice(-max);

/**
 * `service.name` as a Hindsight service name (1–63 of letters, digits, `.`, `_`, `-`, starting with
 * a letter or digit): other characters become `-` — the SDK's default `unknown_service:node` is
 * `unknown_service-node`.
 */
export const serviceNameOf = (raw: string | null): string => {
  const name = (raw ?? '')
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return name === '' ? UNKNOWN_SERVICE : name;
};

/** An HTTP method as the events route takes it; OTel's `_OTHER` (a method it does not know) is `OTHER`. */
const methodOf = (raw: string): string => {
  const method = raw.toUpperCase();
  return /^[A-Z]{1,16}$/.test(method) ? method : 'OTHER';
};

/**
 * The hashed user id, by the SDK's default scheme (src/sdk/user-hash.ts, which nothing of the server
 * may import): HMAC-SHA256 keyed `hindsight-user:<service>`, 128 bits in hex. So an app's users count
 * the same whether it reports through the SDK or OpenTelemetry (unless the SDK was given its own
 * `userSalt`), and the raw id is never stored.
 */
export const hashUserId = (service: string, id: string): string =>
  createHmac('sha256', `hindsight-user:${service}`).update(id).digest('hex').slice(0, 32);

const str = (attributes: OtlpAttributes, ...keys: readonly string[]): string | null => {
  for (const key of keys) {
    const value = attributes.get(key);
    if (typeof value === 'string' && value !== '') return value;
  }
  return null;
};

const int = (attributes: OtlpAttributes, ...keys: readonly string[]): number | null => {
  for (const key of keys) {
    const value: OtlpValue | undefined = attributes.get(key);
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^\d{1,9}$/.test(value)) return Number(value);
  }
  return null;
};

const SQLSTATE = /^[0-9A-Z]{5}$/;
/** instrumentation-pg's sanitized exception message: "PostgreSQL error of type 'error' occurred (code: 40P01)". */
const CODE_IN_MESSAGE = /\(code: ([0-9A-Z]{5})\)/;

const sqlstateOf = (span: OtlpSpan): string | null => {
  const direct = str(span.attributes, 'db.response.status_code', 'error.type');
  if (direct !== null && SQLSTATE.test(direct)) return direct;
  for (const event of span.events) {
    if (event.name !== 'exception') continue;
    const onEvent = str(event.attributes, 'db.response.status_code', 'exception.code');
    if (onEvent !== null && SQLSTATE.test(onEvent)) return onEvent;
    const message = str(event.attributes, 'exception.message');
    const found = message === null ? null : (CODE_IN_MESSAGE.exec(message)?.[1] ?? null);
    if (found !== null) return found;
  }
  return null;
};

const isPostgres = (span: OtlpSpan): boolean =>
  str(span.attributes, 'db.system.name', 'db.system') === 'postgresql';

interface PgFailure {
  readonly failure: SqlFailure;
  readonly job: string | null;
}

/** A PostgreSQL span that failed with a SQLSTATE, as a SqlFailure; null for any other span. */
export const sqlFailureOf = (span: OtlpSpan): PgFailure | null => {
  if (!isPostgres(span)) return null;
  const sqlstate = sqlstateOf(span);
  if (sqlstate === null) return null;
  const text = str(span.attributes, 'db.query.text', 'db.statement');
  const { tags, sql } = parseSqlTags(text ?? '');
  const file = str(span.attributes, 'code.file.path', 'code.filepath');
  const line = int(span.attributes, 'code.line.number', 'code.lineno');
  const site = file !== null ? (line !== null ? `${file}:${line}` : file) : (tags.callsite ?? null);
  const query =
    text === null
      ? (str(span.attributes, 'db.query.summary', 'db.operation.name') ?? span.name)
      : normalizeQuery(sql, { maxLength: MAX_QUERY });
  return {
    failure: {
      sqlstate,
      query: head(query, MAX_QUERY),
      callSite: site === null ? null : tail(site, MAX_CALL_SITE),
    },
    job: tags.job === undefined ? null : head(tags.job, MAX_JOB),
  };
};

const nanosToMs = (nanos: bigint): number => Number(nanos / 1_000_000n);

interface Located {
  readonly span: OtlpSpan;
  readonly service: string;
  readonly release: string | null;
}

interface RequestDraft {
  readonly outcome: Omit<RequestOutcome, 'sqlFailures'>;
  readonly sqlFailures: { readonly start: bigint; readonly failure: SqlFailure }[];
}

const isHttpServer = (span: OtlpSpan): boolean =>
  span.kind === SPAN_KIND_SERVER && str(span.attributes, 'http.request.method', 'http.method') !== null;

const requestOf = (located: Located): RequestDraft | string => {
  const { span, service, release } = located;
  const a = span.attributes;
  const status = int(a, 'http.response.status_code', 'http.status_code');
  if (status === null || status < 100 || status > 599) {
    return `server span ${JSON.stringify(span.name.slice(0, 80))}: no http.response.status_code (or http.status_code) between 100 and 599`;
  }
  const user = str(a, 'enduser.id');
  const exceptionType = span.events.find(
    (e) => e.name === 'exception' && str(e.attributes, 'exception.type') !== null,
  );
  const errorClass =
    (exceptionType === undefined ? null : str(exceptionType.attributes, 'exception.type')) ??
    (span.statusCode === STATUS_CODE_ERROR && status < 500 ? 'Error' : null);
  return {
    outcome: {
      kind: 'request',
      service,
      at: nanosToMs(span.endNanos),
      method: methodOf(str(a, 'http.request.method', 'http.method') ?? ''),
      route: head(str(a, 'http.route') ?? '(unmatched)', MAX_ROUTE) || '(unmatched)',
      status,
      durationMs: Math.min(Number(span.endNanos - span.startNanos) / 1e6, MAX_DURATION_MS),
      user: user === null ? null : hashUserId(service, user),
      errorClass: errorClass === null ? null : head(errorClass, MAX_ERROR_CLASS),
      release,
    },
    sqlFailures: [],
  };
};

type Above = { readonly request: RequestDraft } | { readonly missing: string } | { readonly none: true };

const byStart = (x: { readonly start: bigint }, y: { readonly start: bigint }): number =>
  x.start < y.start ? -1 : x.start > y.start ? 1 : 0;

/**
 * The resource spans of one export request → AppEvents, in the order the spans came (query failures
 * given up from the held ones last).
 */
export function convertSpans(
  resourceSpans: readonly OtlpResourceSpans[],
  options: ConvertOptions = {},
): ConvertedSpans {
  const now = options.now ?? 0;
  const holdMs = options.holdMs ?? 0;
  const maxHeld = options.maxHeld ?? 10_000;
  const byId = new Map<string, Located>();
  const located: Located[] = [];
  for (const rs of resourceSpans) {
    const service = serviceNameOf(str(rs.resource, 'service.name'));
    const version = str(rs.resource, 'service.version');
    const release = version === null ? null : head(version, MAX_RELEASE) || null;
    for (const span of rs.spans) {
      const entry = { span, service, release };
      located.push(entry);
      byId.set(`${span.traceId}/${span.spanId}`, entry);
    }
  }

  const problems: string[] = [];
  let rejected = 0;
  const requests = new Map<Located, RequestDraft>();
  for (const entry of located) {
    if (!isHttpServer(entry.span)) continue;
    const draft = requestOf(entry);
    if (typeof draft === 'string') {
      rejected += 1;
      if (problems.length < MAX_PROBLEMS) problems.push(draft);
    } else requests.set(entry, draft);
  }

  /** Up the parent chain from `parentId` in the batch: the nearest server span's request, the first missing span, or none. */
  const above = (traceId: string, from: string | null): Above => {
    let parentId = from;
    for (let hops = 0; parentId !== null && hops < MAX_PARENT_HOPS; hops++) {
      const parent = byId.get(`${traceId}/${parentId}`);
      if (parent === undefined) return { missing: parentId };
      if (isHttpServer(parent.span)) {
        const request = requests.get(parent);
        return request === undefined ? { none: true } : { request };
      }
      parentId = parent.span.parentSpanId;
    }
    return { none: true };
  };

  const events: AppEvent[] = [];
  const orphans = new Map<Located, QueryFailure>();
  const held: HeldFailure[] = [];
  const givenUp: QueryFailure[] = [];
  /** A failure whose chain broke at `missing`: held while it may wait, else given up. */
  const hold = (failure: Omit<HeldFailure, 'awaitedSpanId'>, missing: string): boolean => {
    if (failure.heldAt + holdMs <= now) return false;
    held.push({ ...failure, awaitedSpanId: missing });
    return true;
  };

  for (const earlier of options.held ?? []) {
    const found = above(earlier.traceId, earlier.awaitedSpanId);
    if ('request' in found)
      found.request.sqlFailures.push({ start: earlier.start, failure: earlier.fallback.failure });
    else if (!('missing' in found && hold(earlier, found.missing))) givenUp.push(earlier.fallback);
  }
  for (const entry of located) {
    const pg = sqlFailureOf(entry.span);
    if (pg === null) continue;
    const found = above(entry.span.traceId, entry.span.parentSpanId);
    if ('request' in found) {
      found.request.sqlFailures.push({ start: entry.span.startNanos, failure: pg.failure });
      continue;
    }
    const fallback: QueryFailure = {
      kind: 'query_failure',
      service: entry.service,
      at: nanosToMs(entry.span.endNanos),
      job: pg.job,
      release: entry.release,
      failure: pg.failure,
    };
    if (!(
      'missing' in found &&
      hold(
        { traceId: entry.span.traceId, heldAt: now, start: entry.span.startNanos, fallback },
        found.missing,
      )
    ))
      orphans.set(entry, fallback);
  }
  // Beyond the bound, the oldest are given up.
  held.sort((x, y) => x.heldAt - y.heldAt);
  for (const dropped of held.splice(0, Math.max(0, held.length - maxHeld))) givenUp.push(dropped.fallback);

  for (const entry of located) {
    const draft = requests.get(entry);
    if (draft !== undefined)
      events.push({
        ...draft.outcome,
        sqlFailures: [...draft.sqlFailures]
          .sort(byStart)
          .slice(0, MAX_SQL_FAILURES)
          .map((f) => f.failure),
      });
    const orphan = orphans.get(entry);
    if (orphan !== undefined) events.push(orphan);
  }
  events.push(...givenUp);
  return { events, rejected, problems, held };
}
