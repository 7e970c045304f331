import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Context } from 'hono';
import type { AppEvent } from '../../../core/app-signal.js';
import { defineRoute, type AnyRoute, type ApiEnv } from '../../route-registry.js';
import { errorBodySchema } from '../../schemas/common-schemas.js';
import { parseEvents } from '../../schemas/event-schemas.js';
import type { ServerMetrics } from '../../server-metrics.js';
import type { AppEventReceiver } from '../inbound-ports.js';
import { convertSpans, type HeldFailure } from './otlp-span-converter.js';
import {
  decodeTraceRequest,
  encodeExportResponse,
  encodeRpcStatus,
  OtlpDecodeError,
  type OtlpEncoding,
} from './otlp-trace-decoder.js';

const gunzipAsync = promisify(gunzip);

/** Default largest body, compressed or inflated: 8 MiB (an OTel batch of 512 spans is far below). */
export const DEFAULT_MAX_OTLP_BODY_BYTES = 8 * 1024 * 1024;

/**
 * How long a failed statement waits for its request's server span from a later batch: the
 * BatchSpanProcessor exports every 5 s by default (and whenever 512 spans are queued).
 */
export const DEFAULT_OTLP_HOLD_MS = 15_000;

/** As `POST /api/v1/events`: an event over an hour ahead of the server's clock is refused. */
const MAX_CLOCK_AHEAD_MS = 3_600_000;

/**
 * The converted events checked by the very validation of `POST /api/v1/events` (per service, as its
 * batches are), so OTLP stores nothing the SDK's route would refuse; refused ones are rejected spans.
 */
const validate = (
  converted: readonly AppEvent[],
  latestAt: number,
): { events: AppEvent[]; problems: string[] } => {
  const byService = new Map<string, Omit<AppEvent, 'service'>[]>();
  for (const { service, ...event } of converted) {
    const list = byService.get(service);
    if (list === undefined) byService.set(service, [event]);
    else list.push(event);
  }
  const events: AppEvent[] = [];
  const problems: string[] = [];
  for (const [service, items] of byService) {
    const parsed = parseEvents(service, items, latestAt);
    events.push(...parsed.events);
    for (const r of parsed.rejected)
      problems.push(`service ${service}: ${r.problem.replace(/^events\[\d+\]\.?/, "a span's ")}`);
  }
  return { events, problems };
};

/** gRPC codes, which OTLP/HTTP's google.rpc.Status carries. */
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNIMPLEMENTED = 12;

const CONTENT_TYPES: Readonly<Record<string, OtlpEncoding>> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

const contentTypeOf = (encoding: OtlpEncoding): string =>
  encoding === 'json' ? 'application/json' : 'application/x-protobuf';

const reply = (
  c: Context,
  encoding: OtlpEncoding,
  status: 200 | 400 | 413 | 415,
  body: Uint8Array | string,
): Response =>
  c.body(typeof body === 'string' ? body : new Uint8Array(body), status, {
    'content-type': contentTypeOf(encoding),
  });

const problem = (
  c: Context,
  encoding: OtlpEncoding,
  status: 400 | 413 | 415,
  code: number,
  message: string,
): Response => reply(c, encoding, status, encodeRpcStatus(encoding, code, message));

/**
 * `POST /v1/traces` — OTLP/HTTP trace export (https://opentelemetry.io/docs/specs/otlp/#otlphttp), the
 * default path, so an exporter pointed at `http://<serve>:<port>` needs only its `headers` option for
 * the token. Protobuf or JSON, optionally gzip; answered in the request's encoding: 200 with an
 * ExportTraceServiceResponse (`partialSuccess` naming rejected spans), or a google.rpc.Status with
 * 400 (undecodable), 413 (over `maxBodyBytes`, compressed or inflated) or 415 (another content type
 * or encoding). The token check (401/403) and the compressed-size check run before, in the shared
 * middleware, and answer in the API's JSON error shape — exporters log that body as text.
 */
export const otlpTracesRoute = (deps: {
  readonly events: AppEventReceiver;
  /** Counts rejected spans (accepted events are counted by the receiver). */
  readonly metrics?: Pick<ServerMetrics, 'countAppEvents'>;
  readonly now: () => number;
  readonly maxBodyBytes?: number;
  readonly holdMs?: number;
}): AnyRoute => {
  const maxBytes = deps.maxBodyBytes ?? DEFAULT_MAX_OTLP_BODY_BYTES;
  const holdMs = deps.holdMs ?? DEFAULT_OTLP_HOLD_MS;
  /**
   * Failures whose server span has not arrived yet (see convertSpans). In this process only: with
   * several replicas, a request split across two of them counts its failure outside a request.
   */
  let held: readonly HeldFailure[] = [];
  return defineRoute({
    method: 'post',
    path: '/v1/traces',
    summary:
      'OpenTelemetry OTLP/HTTP trace export (protobuf or JSON, optionally gzip): HTTP server spans become request outcomes, failed PostgreSQL client spans SQL failures',
    tag: 'integrations',
    access: 'ingest',
    rawBody: true,
    maxBodyBytes: maxBytes,
    responses: {
      200: {
        description:
          'ExportTraceServiceResponse, in the encoding of the request (partialSuccess when spans were rejected)',
        contentType: 'application/x-protobuf',
      },
      400: {
        description: 'The body is not an ExportTraceServiceRequest (google.rpc.Status)',
        contentType: 'application/x-protobuf',
      },
      401: { description: 'No or unknown token', schema: errorBodySchema },
      403: { description: 'A viewer token (ingest, responder or admin send)', schema: errorBodySchema },
      413: {
        description: 'Larger than the limit, compressed or inflated',
        contentType: 'application/x-protobuf',
      },
      415: {
        description: 'Neither application/x-protobuf nor application/json, or an encoding other than gzip',
        contentType: 'application/json',
      },
    },
    handle: async (_input, c: Context<ApiEnv>) => {
      const mediaType = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const encoding = CONTENT_TYPES[mediaType];
      if (encoding === undefined) {
        return problem(
          c,
          'json',
          415,
          GRPC_UNIMPLEMENTED,
          `content type ${JSON.stringify(mediaType)} is not OTLP: send application/x-protobuf or application/json (the OTLP/HTTP exporters' protobuf or json protocol)`,
        );
      }
      const contentEncoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
      if (contentEncoding !== 'gzip' && contentEncoding !== 'identity') {
        return problem(
          c,
          encoding,
          415,
          GRPC_UNIMPLEMENTED,
          `content encoding ${JSON.stringify(contentEncoding)} is not supported: send gzip or no compression`,
        );
      }
      let body = new Uint8Array(await c.req.arrayBuffer());
      if (contentEncoding === 'gzip') {
        try {
          body = new Uint8Array(await gunzipAsync(body, { maxOutputLength: maxBytes }));
        } catch (error) {
          if (error instanceof RangeError || (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
            return problem(
              c,
              encoding,
              413,
              GRPC_RESOURCE_EXHAUSTED,
              `the body inflates to more than ${maxBytes} bytes; export smaller batches (BatchSpanProcessor maxExportBatchSize)`,
            );
          }
          return problem(
            c,
            encoding,
            400,
            GRPC_INVALID_ARGUMENT,
            `the body is not valid gzip (${error instanceof Error ? error.message : String(error)})`,
          );
        }
      }
      let decoded;
      try {
        decoded = decodeTraceRequest(body, encoding);
      } catch (error) {
        if (error instanceof OtlpDecodeError)
          return problem(c, encoding, 400, GRPC_INVALID_ARGUMENT, error.message);
        throw error;
      }
      const now = deps.now();
      // Read and replaced with no await in between, so concurrent exports do not lose held failures.
      const converted = convertSpans(decoded.resourceSpans, { held, now, holdMs });
      held = converted.held;
      const checked = validate(converted.events, now + MAX_CLOCK_AHEAD_MS);
      if (checked.events.length > 0) await deps.events.ingestEvents(checked.events, now);
      const rejectedSpans = decoded.malformedSpans + converted.rejected + checked.problems.length;
      if (rejectedSpans > 0) deps.metrics?.countAppEvents('rejected', rejectedSpans);
      const problems = [...decoded.problems, ...converted.problems, ...checked.problems].slice(0, 5);
      return reply(
        c,
        encoding,
        200,
        encodeExportResponse(
          encoding,
          rejectedSpans === 0 ? null : { rejectedSpans, errorMessage: problems.join('; ') },
        ),
      );
    },
  });
};
