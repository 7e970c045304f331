import { z } from 'zod';
import type { AppEvent } from '../../core/app-signal.js';
import { epochMsSchema, nameSchema } from './common-schemas.js';

/**
 * The wire format of `POST /api/v1/events` (what `hindsight/sdk` sends). The batch's envelope is
 * validated whole (not this shape → 400); its events one by one (a bad one is listed in `rejected`,
 * the others kept). Text is bounded and may not hold NUL characters (PostgreSQL's text refuses them).
 */

export const MAX_EVENTS_PER_BATCH = 5_000;

const text = (max: number) =>
  z
    .string()
    .max(max, `expected at most ${max} characters`)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const optionalText = (max: number) =>
  text(max)
    .nullish()
    .transform((v) => v ?? null);

const sqlFailure = z.object({
  sqlstate: z.string().regex(/^[0-9A-Z]{5}$/, 'expected a SQLSTATE: 5 digits or capital letters, e.g. 40P01'),
  query: text(8_192).meta({ description: 'The normalized statement, without its sqlcommenter tags.' }),
  callSite: optionalText(512).meta({
    description: 'The first stack frame in the app’s own code, `path/file.ts:88`.',
  }),
});

const at = epochMsSchema.meta({ description: 'When it ended (epoch ms).' });

const requestEvent = z.object({
  kind: z.literal('request'),
  at,
  method: z
    .string()
    .regex(/^[A-Za-z]{1,16}$/, 'expected an HTTP method such as GET or POST')
    .transform((m) => m.toUpperCase()),
  route: text(512).min(1, 'expected the route template, e.g. /orders/:id').meta({
    description:
      'The route template (`/orders/:id`), never the raw path; `(unmatched)` when no route matched.',
  }),
  status: z
    .number({ error: 'expected an integer 100–599' })
    .int('expected an integer 100–599')
    .min(100, 'expected an integer 100–599')
    .max(599, 'expected an integer 100–599'),
  durationMs: z
    .number({ error: 'expected a duration in ms' })
    .nonnegative('expected a duration ≥ 0 ms')
    .max(86_400_000, 'expected at most a day in ms'),
  user: optionalText(128).meta({
    description: 'The app’s user id, hashed by the SDK; null when the app supplies none.',
  }),
  errorClass: optionalText(200),
  release: optionalText(100),
  sqlFailures: z.array(sqlFailure).max(50, 'expected at most 50 failed statements').default([]),
});

const queryFailureEvent = z.object({
  kind: z.literal('query_failure'),
  at,
  job: optionalText(200).meta({ description: 'The job that ran it (a background job’s name), or null.' }),
  release: optionalText(100),
  failure: sqlFailure,
});

/** One event of a batch, as validated item by item. */
export const appEventSchema = z.discriminatedUnion('kind', [requestEvent, queryFailureEvent], {
  error: 'expected kind "request" or "query_failure"',
});

export type WireAppEvent = z.output<typeof appEventSchema>;

/** The envelope: checked whole before any event is looked at. */
export const eventBatchEnvelopeSchema = z.object({
  service: nameSchema.meta({
    description: 'The app’s service name; every event of the batch belongs to it.',
  }),
  sdk: z.string().max(100).optional().meta({ description: 'The sender, e.g. `hindsight-node/0.1.0`.' }),
  dropped: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .meta({ description: 'Events the sender dropped from its buffer since its last batch.' }),
  events: z
    .array(z.unknown())
    .min(1, 'send at least one event')
    .max(MAX_EVENTS_PER_BATCH, `send at most ${MAX_EVENTS_PER_BATCH} events per batch`),
});

/** The batch as documented (the route validates the envelope, then each event). */
export const eventBatchSchema = eventBatchEnvelopeSchema.extend({
  events: z.array(appEventSchema).min(1).max(MAX_EVENTS_PER_BATCH),
});

export const rejectedEventSchema = z.object({
  index: z.number().int().meta({ description: 'Its position in `events`.' }),
  problem: z
    .string()
    .meta({ description: 'What is wrong, e.g. `events[3].status: expected an integer 100–599`.' }),
});

export const eventBatchReplySchema = z.object({
  accepted: z.number().int().meta({ description: 'Events stored.' }),
  rejected: z
    .array(rejectedEventSchema)
    .meta({ description: 'Events left out, each with its index and problem.' }),
});

export type RejectedEvent = z.output<typeof rejectedEventSchema>;

const pathOf = (index: number, path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`),
    `events[${index}]`,
  );

/*
 * A hand-written check of the same rules, for the hot path: zod takes ~5 µs an event, this ~0.3 µs
 * (bench:ingest). It only ever accepts what `appEventSchema` accepts, with the same output (a
 * property test checks it); anything it does not accept goes through zod, which names the problem.
 */
type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const METHOD = /^[A-Za-z]{1,16}$/;
const SQLSTATE = /^[0-9A-Z]{5}$/;
const NO_VALUE = Symbol('invalid');
const fastText = (v: unknown, max: number): string | typeof NO_VALUE =>
  typeof v === 'string' && v.length <= max && !v.includes('\u0000') ? v : NO_VALUE;
const fastOptional = (v: unknown, max: number): string | null | typeof NO_VALUE =>
  v === undefined || v === null ? null : fastText(v, max);
const fastAt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function fastFailure(v: unknown): { sqlstate: string; query: string; callSite: string | null } | undefined {
  if (!isRecord(v)) return undefined;
  const { sqlstate, query } = v;
  const callSite = fastOptional(v.callSite, 512);
  if (typeof sqlstate !== 'string' || !SQLSTATE.test(sqlstate) || callSite === NO_VALUE) return undefined;
  const q = fastText(query, 8_192);
  return q === NO_VALUE ? undefined : { sqlstate, query: q, callSite };
}

export function fastEvent(item: unknown, service: string): AppEvent | undefined {
  if (!isRecord(item) || !fastAt(item.at)) return undefined;
  const release = fastOptional(item.release, 100);
  if (release === NO_VALUE) return undefined;
  if (item.kind === 'query_failure') {
    const job = fastOptional(item.job, 200);
    const failure = fastFailure(item.failure);
    if (job === NO_VALUE || failure === undefined) return undefined;
    return { kind: 'query_failure', service, at: item.at, job, release, failure };
  }
  if (item.kind !== 'request') return undefined;
  const { method, status, durationMs } = item;
  const route = fastText(item.route, 512);
  const user = fastOptional(item.user, 128);
  const errorClass = fastOptional(item.errorClass, 200);
  if (typeof method !== 'string' || !METHOD.test(method) || route === NO_VALUE || route.length === 0)
    return undefined;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599)
    return undefined;
  if (
    typeof durationMs !== 'number' ||
    !Number.isFinite(durationMs) ||
    durationMs < 0 ||
    durationMs > 86_400_000
  )
    return undefined;
  if (user === NO_VALUE || errorClass === NO_VALUE) return undefined;
  let sqlFailures: { sqlstate: string; query: string; callSite: string | null }[] = [];
  if (item.sqlFailures !== undefined) {
    if (!Array.isArray(item.sqlFailures) || item.sqlFailures.length > 50) return undefined;
    sqlFailures = [];
    for (const f of item.sqlFailures) {
      const failure = fastFailure(f);
      if (failure === undefined) return undefined;
      sqlFailures.push(failure);
    }
  }
  return {
    kind: 'request',
    service,
    at: item.at,
    method: method.toUpperCase(),
    route,
    status,
    durationMs,
    user,
    errorClass,
    release,
    sqlFailures,
  };
}

/**
 * Validates each event of a batch: the valid ones as core's `AppEvent` (with the batch's service),
 * the others as `rejected`. `latestAt`: an event later than this (a sender's clock far ahead) is
 * rejected too, or it would sit in the store past every prune.
 */
export function parseEvents(
  service: string,
  items: readonly unknown[],
  latestAt: number,
): { events: AppEvent[]; rejected: RejectedEvent[] } {
  const events: AppEvent[] = [];
  const rejected: RejectedEvent[] = [];
  for (const [index, item] of items.entries()) {
    let event = fastEvent(item, service);
    if (event === undefined) {
      const parsed = appEventSchema.safeParse(item);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        rejected.push({
          index,
          problem: `${pathOf(index, issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`,
        });
        continue;
      }
      event = { ...parsed.data, service };
    }
    if (event.at > latestAt) {
      rejected.push({
        index,
        problem: `events[${index}].at: ${event.at} is more than an hour ahead of the server's clock; check the sender's clock`,
      });
      continue;
    }
    events.push(event);
  }
  return { events, rejected };
}

export const deployBodySchema = z.object({
  service: nameSchema,
  version: text(100).min(1, 'expected the version deployed, e.g. v2 or 1.4.0'),
  commit: optionalText(64).meta({ description: 'The commit deployed (a SHA), or null.' }),
  at: epochMsSchema
    .optional()
    .meta({ description: 'When it went out (epoch ms); default: when the server received it.' }),
});

export const deploySchema = z.object({
  id: z.string(),
  service: z.string(),
  version: z.string(),
  commit: z.string().nullable(),
  at: z.number(),
  actor: z.string().meta({ description: 'The name of the token that recorded it.' }),
});

export const deployListQuerySchema = z.object({
  service: nameSchema.optional(),
  since: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
