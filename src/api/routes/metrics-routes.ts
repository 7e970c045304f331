import type { Finding, FindingKind } from '../../core/finding.js';
import { findingCursor, type FindingCursor } from '../../core/incident-store.js';
import type { SeriesMetric } from '../../core/metrics-series.js';
import { ApiError } from '../api-error.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import {
  findingHistoryQuerySchema,
  findingHistoryReplySchema,
  seriesQuerySchema,
  seriesReplySchema,
  statementsQuerySchema,
  statementsReplySchema,
  targetNameParamsSchema,
} from '../schemas/metrics-schemas.js';

/** What the history routes need of the use cases (app/metrics-queries.ts). */
export interface MetricsHistory {
  series(
    query: { target: string; metric: SeriesMetric; from: number; to: number },
    now: number,
  ): Promise<{ resolutionMs: number; points: readonly { at: number; value: number | null }[] }>;
  statements(
    query: { target: string; from: number; to: number; limit?: number },
    now: number,
  ): Promise<{
    statements: readonly {
      queryId: string;
      query: string;
      calls: number;
      totalExecMs: number;
      meanExecMs: number;
      rows: number;
    }[];
  }>;
  findings(query: {
    since: number;
    until?: number;
    target?: string;
    kinds?: readonly FindingKind[];
    after?: FindingCursor;
    limit?: number;
  }): Promise<Finding[]>;
}

const HOUR = 3_600_000;
/** The longest window a request may ask for: the default retention of the coarsest tier, and some. */
const MAX_WINDOW_MS = 400 * 24 * HOUR;

function window(
  query: { from?: number | undefined; to?: number | undefined },
  now: number,
): { from: number; to: number } {
  const to = query.to ?? now;
  const from = query.from ?? to - HOUR;
  if (from >= to)
    throw badWindow(
      `query.from: ${new Date(from).toISOString()} is not before to (${new Date(to).toISOString()}); give a from earlier than to`,
    );
  if (to - from > MAX_WINDOW_MS)
    throw badWindow('query.from: the window is longer than 400 days; ask for a shorter one');
  return { from, to };
}

const badWindow = (message: string): ApiError =>
  new ApiError({
    status: 400,
    code: 'INVALID_REQUEST',
    message,
    details: { issues: [{ field: 'query.from', message }] },
  });

const badRequest = { description: 'A bad metric, time or window', schema: errorBodySchema };
const noTarget = {
  description: 'No such target (not in the catalog, no agent reports it, nothing kept in the window)',
  schema: errorBodySchema,
};

/**
 * History: a target's metric over a window, its top statements, and the findings of the past
 * (every finding, not only those that became incidents) with filters and a keyset cursor.
 */
export const metricsRoutes = (history: MetricsHistory, now: () => number): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/targets/:name/series',
    summary: "A target's metric over a window, at the resolution the window calls for",
    tag: 'metrics',
    access: 'viewer',
    params: targetNameParamsSchema,
    query: seriesQuerySchema,
    responses: {
      200: { description: 'The series', schema: seriesReplySchema },
      400: badRequest,
      404: noTarget,
    },
    handle: async ({ params, query }, c) => {
      const w = window(query, now());
      const metric = query.metric as SeriesMetric;
      const answer = await history.series({ target: params.name, metric, ...w }, now());
      return c.json({
        target: params.name,
        metric,
        ...w,
        resolutionMs: answer.resolutionMs,
        points: answer.points,
      });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/targets/:name/statements',
    summary: "A target's top statements over a window, by total execution time (pg_stat_statements deltas)",
    tag: 'metrics',
    access: 'viewer',
    params: targetNameParamsSchema,
    query: statementsQuerySchema,
    responses: {
      200: { description: 'The statements', schema: statementsReplySchema },
      400: badRequest,
      404: noTarget,
    },
    handle: async ({ params, query }, c) => {
      const w = window(query, now());
      const answer = await history.statements(
        { target: params.name, ...w, ...(query.limit === undefined ? {} : { limit: query.limit }) },
        now(),
      );
      return c.json({ target: params.name, ...w, statements: answer.statements });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/findings',
    summary:
      'Findings of the past, oldest first: every deadlock, blocking episode, long transaction… whether or not it became an incident',
    tag: 'metrics',
    access: 'viewer',
    query: findingHistoryQuerySchema,
    responses: {
      200: { description: 'A page of findings', schema: findingHistoryReplySchema },
      400: badRequest,
    },
    handle: async ({ query }, c) => {
      const limit = query.limit ?? 100;
      const cursor = query.after === undefined ? undefined : parseCursor(query.after);
      const findings = await history.findings({
        since: query.since ?? now() - 24 * HOUR,
        limit,
        ...(query.until === undefined ? {} : { until: query.until }),
        ...(query.target === undefined ? {} : { target: query.target }),
        ...(query.kind === undefined ? {} : { kinds: query.kind }),
        ...(cursor === undefined ? {} : { after: cursor }),
      });
      const last = findings.at(-1);
      const next = findings.length === limit && last !== undefined ? formatCursor(findingCursor(last)) : null;
      return c.json({ findings, next });
    },
  }),
];

const formatCursor = (cursor: FindingCursor): string => `${String(cursor.at)}_${cursor.id}`;

function parseCursor(text: string): FindingCursor {
  const cut = text.indexOf('_');
  return { at: Number(text.slice(0, cut)), id: text.slice(cut + 1) };
}
