import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Context } from 'hono';
import { z } from 'zod';
import type { Deploy } from '../../core/app-signal.js';
import { ApiError, invalidRequest } from '../api-error.js';
import type { AppEventReceiver } from '../integrations/inbound-ports.js';
import type { AnyRoute, ApiEnv } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import {
  deployBodySchema,
  deployListQuerySchema,
  deploySchema,
  eventBatchEnvelopeSchema,
  eventBatchReplySchema,
  eventBatchSchema,
  parseEvents,
} from '../schemas/event-schemas.js';
import type { ServerMetrics } from '../server-metrics.js';

const inflate = promisify(gunzip);

/** How far ahead of the server's clock an event may be (senders' clocks drift a little). */
const MAX_CLOCK_AHEAD_MS = 3_600_000;

/** What the deploy routes need of the use cases (app/deploy-service.ts). */
export interface DeployUseCases {
  record(
    input: {
      readonly service: string;
      readonly version: string;
      readonly commit: string | null;
      readonly at?: number;
    },
    by: string,
  ): Promise<{ readonly deploy: Deploy; readonly incidentIds: readonly string[] }>;
  list(query: {
    readonly service?: string;
    readonly since?: number;
    readonly limit?: number;
  }): Promise<Deploy[]>;
}

const tooLarge = (maxBytes: number): ApiError =>
  new ApiError({
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: `the request body is larger than ${maxBytes} bytes (after gunzip); send smaller batches`,
    details: { maxBytes },
  });

/**
 * The body as text: read whole (the route's body limit bounds the bytes on the wire), gunzipped when
 * `Content-Encoding: gzip` — the limit applies to the inflated size too, so a gzip bomb answers 413
 * after inflating at most `maxBytes`.
 */
export async function readMaybeGzipped(c: Context<ApiEnv>, maxBytes: number): Promise<string> {
  const raw = Buffer.from(await c.req.arrayBuffer());
  const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return raw.toString('utf8');
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new ApiError({
      status: 415,
      code: 'UNSUPPORTED_ENCODING',
      message: `Content-Encoding ${encoding} is not supported; send the body plain or gzip-compressed`,
    });
  }
  try {
    return (await inflate(raw, { maxOutputLength: maxBytes })).toString('utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
    throw new ApiError({
      status: 400,
      code: 'INVALID_GZIP',
      message: `the body says Content-Encoding: gzip but does not inflate (${error instanceof Error ? error.message : String(error)})`,
    });
  }
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ApiError({
      status: 400,
      code: 'INVALID_JSON',
      message: `the request body is not JSON (${cause instanceof Error ? cause.message : String(cause)}); send application/json`,
    });
  }
};

/**
 * `POST /api/v1/events` (app events from `hindsight/sdk`) and the deploy markers. Events are validated
 * one by one: a batch with bad items is kept in part — the valid events are stored, each bad one is
 * listed in `rejected` with its index and problem. Only an envelope that is not a batch at all is a 400.
 */
export const eventRoutes = (deps: {
  readonly events: AppEventReceiver;
  readonly deploys: DeployUseCases;
  readonly metrics: ServerMetrics;
  readonly now: () => number;
  readonly maxBodyBytes: number;
}): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/events',
    summary:
      'App events (requests, SQL failures) from hindsight/sdk, optionally gzip-compressed (ingest token). ' +
      'Kept in part: valid events are stored, invalid ones listed in `rejected` with their index and problem; ' +
      'the size limit applies to the inflated body too. Stored (committed) before the 202.',
    tag: 'ingest',
    access: 'ingest',
    body: eventBatchSchema,
    rawBody: true,
    maxBodyBytes: deps.maxBodyBytes,
    responses: {
      202: {
        description: 'Stored: how many, and which events were left out and why',
        schema: eventBatchReplySchema,
      },
      400: {
        description:
          'Not a batch (no service, no events array, more than 5,000 events), not JSON, or bad gzip',
        schema: errorBodySchema,
      },
      413: {
        description: 'Body (or its inflated size) over the ingest limit: send smaller batches',
        schema: errorBodySchema,
      },
      415: { description: 'A Content-Encoding other than gzip', schema: errorBodySchema },
    },
    handle: async (_input, c) => {
      const receivedAt = deps.now();
      const text = await readMaybeGzipped(c, deps.maxBodyBytes);
      const envelope = eventBatchEnvelopeSchema.safeParse(parseJson(text));
      if (!envelope.success) throw invalidRequest('body', envelope.error);
      const { service, dropped, events: items } = envelope.data;
      const { events, rejected } = parseEvents(service, items, receivedAt + MAX_CLOCK_AHEAD_MS);
      if (rejected.length > 0) deps.metrics.countAppEvents('rejected', rejected.length);
      if (events.length > 0 || (dropped ?? 0) > 0)
        await deps.events.ingestEvents(events, receivedAt, dropped ?? 0);
      return c.json({ accepted: events.length, rejected }, 202);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/deploys',
    summary:
      'Record a deploy of a service (`hindsight deploy`); open incidents of the service note it on their timeline (ingest token)',
    tag: 'deploys',
    access: 'ingest',
    body: deployBodySchema,
    responses: { 201: { description: 'The deploy recorded', schema: deploySchema } },
    handle: async ({ body }, c) => {
      const { deploy } = await deps.deploys.record(
        {
          service: body.service,
          version: body.version,
          commit: body.commit,
          ...(body.at === undefined ? {} : { at: body.at }),
        },
        c.var.token.name,
      );
      return c.json(deploy, 201);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/deploys',
    summary: 'Deploys, newest first (viewer token)',
    tag: 'deploys',
    access: 'viewer',
    query: deployListQuerySchema,
    responses: { 200: { description: 'The deploys', schema: z.object({ deploys: z.array(deploySchema) }) } },
    handle: async ({ query }, c) => {
      const deploys = await deps.deploys.list({
        ...(query.service === undefined ? {} : { service: query.service }),
        ...(query.since === undefined ? {} : { since: query.since }),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
      });
      return c.json({ deploys });
    },
  }),
];
