import { Hono } from 'hono';
import type { Clock } from '../core/ports.js';
import type { Logger } from '../platform/logger.js';
import { ApiError, createErrorHandler, type ErrorBody } from './api-error.js';
import { alertmanagerRoute } from './integrations/alertmanager-webhook.js';
import type {
  AppEventReceiver,
  InboundAlertReceiver,
  IntegrationLookup,
} from './integrations/inbound-ports.js';
import { otlpTracesRoute } from './integrations/otlp/otlp-traces-route.js';
import { pagerdutyRoute } from './integrations/pagerduty-events.js';
import type { TokenVerifier } from './middleware/auth/bearer-auth.js';
import { requestLog } from './middleware/request-log/request-log.js';
import { buildOpenApiDocument } from './openapi-document.js';
import { defineRoute, mountRoutes, type AnyRoute, type ApiEnv } from './route-registry.js';
import { alertRoutes, type AlertQueries } from './routes/alert-routes.js';
import { catalogRoutes, type CatalogUseCases } from './routes/catalog-routes.js';
import { channelRoutes } from './routes/channel-routes.js';
import { escalationRoutes } from './routes/escalation-routes.js';
import { eventRoutes, type DeployUseCases } from './routes/event-routes.js';
import { onCallRoutes } from './routes/oncall-routes.js';
import type { PagingUseCases } from './routes/paging-use-cases.js';
import { healthRoutes, type StatusSource } from './routes/health-routes.js';
import { incidentPageRoutes } from './routes/incident-page-routes.js';
import { incidentRoutes, type IncidentUseCases } from './routes/incident-routes.js';
import { metricsRoutes, type MetricsHistory } from './routes/metrics-routes.js';
import {
  ingestRoutes,
  type FindingReceiver,
  type HealthRecorder,
  type SeriesReceiver,
} from './routes/ingest-routes.js';
import { ruleRoutes, type RuleQueries } from './routes/rule-routes.js';
import { tokenRoutes, type TokenUseCases } from './routes/token-routes.js';
import type { ServerMetrics } from './server-metrics.js';

export interface ApiOptions {
  /** Largest request body (bytes) on every route but the agent push; larger answers 413. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Largest agent push (bytes). Default 8 MiB. */
  readonly maxIngestBodyBytes?: number;
  /** `GET /metrics` without a token (a scrape on a private network). Default false: a viewer token. */
  readonly metricsPublic?: boolean;
  /** The version the OpenAPI document states. */
  readonly version?: string;
}

/** Everything the HTTP API calls: use cases from app/, the metrics, a logger and the clock. */
export interface ApiDeps {
  readonly incidents: IncidentUseCases;
  readonly alerts: AlertQueries;
  readonly rules: RuleQueries;
  readonly findings: FindingReceiver;
  readonly inbound: InboundAlertReceiver;
  /** App events: `POST /api/v1/events` and OTLP `/v1/traces`. */
  readonly events: AppEventReceiver;
  readonly deploys: DeployUseCases;
  readonly tokens: TokenUseCases & TokenVerifier;
  readonly catalog: CatalogUseCases & IntegrationLookup & HealthRecorder;
  readonly status: StatusSource;
  /** On call, channel tests, escalate now; absent: those routes are not mounted. */
  readonly paging?: PagingUseCases;
  /** Series, top statements and findings history; absent: those routes are not mounted. */
  readonly history?: MetricsHistory;
  /** Where agents' pushed metrics intervals go; absent: accepted and not kept. */
  readonly series?: SeriesReceiver;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly options?: ApiOptions;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_INGEST_BODY_BYTES = 8 * 1024 * 1024;

/** Every route of the API, declared once: mounted on Hono and described in the OpenAPI document. */
export function apiRoutes(deps: ApiDeps): AnyRoute[] {
  const now = (): number => deps.clock.now();
  const inbound = { integrations: deps.catalog, intake: deps.inbound, metrics: deps.metrics, now };
  return [
    ...healthRoutes({
      status: deps.status,
      metrics: deps.metrics,
      metricsAccess: deps.options?.metricsPublic === true ? 'public' : 'viewer',
    }),
    ...incidentRoutes(deps.incidents),
    ...alertRoutes(deps.alerts),
    ...ruleRoutes(deps.rules),
    ...catalogRoutes(deps.catalog),
    ...tokenRoutes(deps.tokens),
    ...ingestRoutes({
      findings: deps.findings,
      health: deps.catalog,
      ...(deps.series === undefined ? {} : { series: deps.series }),
      metrics: deps.metrics,
      now,
      maxBodyBytes: deps.options?.maxIngestBodyBytes ?? DEFAULT_MAX_INGEST_BODY_BYTES,
    }),
    ...eventRoutes({
      events: deps.events,
      deploys: deps.deploys,
      metrics: deps.metrics,
      now,
      maxBodyBytes: deps.options?.maxIngestBodyBytes ?? DEFAULT_MAX_INGEST_BODY_BYTES,
    }),
    otlpTracesRoute({
      events: deps.events,
      metrics: deps.metrics,
      now,
      maxBodyBytes: deps.options?.maxIngestBodyBytes ?? DEFAULT_MAX_INGEST_BODY_BYTES,
    }),
    alertmanagerRoute(inbound),
    pagerdutyRoute(inbound),
    ...(deps.history === undefined ? [] : metricsRoutes(deps.history, now)),
    ...(deps.paging === undefined
      ? []
      : [
          ...onCallRoutes(deps.paging, now),
          ...channelRoutes(deps.paging, now),
          ...escalationRoutes(deps.paging, now),
          ...incidentPageRoutes(deps.incidents, deps.paging, now),
        ]),
  ];
}

/**
 * The HTTP API as a Hono app, built without listening: `serve` hands it to @hono/node-server, tests
 * call `app.request()`. Routes are thin (validate, call a use case, shape the reply); errors are
 * reported in one place, `onError`, as `{ code, message, details }`.
 */
export function createApiApp(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use('*', requestLog(deps.logger, deps.metrics));
  app.onError(createErrorHandler(deps.logger));
  app.notFound((c) =>
    c.json<ErrorBody>(
      {
        code: 'ROUTE_NOT_FOUND',
        message: `no route ${c.req.method} ${c.req.path}; the routes are listed at GET /api/v1/openapi.json`,
        details: {},
      },
      404,
    ),
  );

  const routes = apiRoutes(deps);
  const openApiRoute = defineRoute({
    method: 'get',
    path: '/api/v1/openapi.json',
    summary: 'This OpenAPI 3.1 document',
    tag: 'operations',
    access: 'viewer',
    responses: { 200: { description: 'The document', contentType: 'application/json' } },
    handle: (_input, c) => c.json(document),
  });
  const all = [...routes, openApiRoute];
  const document = buildOpenApiDocument(all, { version: deps.options?.version ?? '0.1.0' });
  mountRoutes(app, all, {
    tokens: deps.tokens,
    maxBodyBytes: deps.options?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  });
  return app;
}

export { ApiError };
