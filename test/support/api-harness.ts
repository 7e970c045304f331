import { pino } from 'pino';
import { CatalogService } from '../../src/app/catalog-service.js';
import { FindingIntake } from '../../src/app/finding-intake.js';
import { InboundAlertIntake } from '../../src/app/inbound-alert-intake.js';
import { IncidentService } from '../../src/app/incident-service.js';
import { RuleQueries } from '../../src/app/rule-queries.js';
import { MetricsQueries } from '../../src/app/metrics-queries.js';
import { MetricsRecorder } from '../../src/app/metrics-recorder.js';
import { DeployService } from '../../src/app/deploy-service.js';
import { SignalIntake } from '../../src/app/signal-intake.js';
import { TokenService } from '../../src/app/token-service.js';
import { createApiApp, type ApiOptions } from '../../src/api/create-api-app.js';
import { inboundReplySchema } from '../../src/api/integrations/alertmanager-webhook.js';
import { storeStatus, type StatusSource } from '../../src/api/routes/health-routes.js';
import { errorBodySchema } from '../../src/api/schemas/common-schemas.js';
import { createServerMetrics } from '../../src/api/server-metrics.js';
import type { IncidentStore } from '../../src/core/incident-store.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { FakeClock } from './fake-clock.js';
import { CountingIds } from './sample-builder.js';

export interface Reply {
  readonly status: number;
  /** The parsed JSON body (null when not JSON): parse it with the route's response schema. */
  readonly body: unknown;
  readonly text: string;
  readonly headers: Headers;
}

export interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  /** A raw body, sent as is (not JSON-encoded). */
  readonly raw?: string | Uint8Array;
  readonly headers?: Record<string, string>;
}

/**
 * The whole API on the memory store (or the store given), wired as serve wires it, with one token per role and a
 * service `shop` whose Alertmanager secret is `s3cret` (as in the recorded fixture) and whose
 * PagerDuty routing key is `pd-routing-key-0123456789abcdef`.
 */
export async function createApiHarness(
  options: { api?: ApiOptions; status?: StatusSource; store?: IncidentStore } = {},
) {
  const store = options.store ?? new MemoryStore();
  const clock = new FakeClock(Date.parse('2026-11-30T15:39:00Z'));
  const ids = new CountingIds();
  const logLines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
  const tokens = new TokenService({ store, clock, ids });
  const catalog = new CatalogService({ store });
  const metrics = createServerMetrics({ processMetrics: false });
  const app = createApiApp({
    incidents: new IncidentService({ store, clock, ids }),
    alerts: store.alerts,
    rules: new RuleQueries({ store }),
    findings: new FindingIntake({ store }),
    inbound: new InboundAlertIntake({ store, clock, ids }),
    events: new SignalIntake({
      store,
      count: (outcome, n) => {
        metrics.countAppEvents(outcome, n);
      },
    }),
    deploys: new DeployService({ store, clock, ids }),
    history: new MetricsQueries({ store }),
    series: new MetricsRecorder({ store, onError: () => undefined }),
    tokens,
    catalog,
    status: options.status ?? storeStatus(store),
    metrics,
    logger,
    clock,
    ...(options.api === undefined ? {} : { options: options.api }),
  });
  const admin = (await tokens.create({ name: 'alice', role: 'admin' })).secret;
  const responder = (await tokens.create({ name: 'rita', role: 'responder' })).secret;
  const viewer = (await tokens.create({ name: 'vic', role: 'viewer' })).secret;
  await catalog.saveService({
    name: 'shop',
    integrations: [
      { type: 'alertmanager', secret: 's3cret' },
      { type: 'pagerduty', secret: 'pd-routing-key-0123456789abcdef' },
    ],
  });

  const call = async (method: string, path: string, init: CallOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
    let body: string | Uint8Array | undefined = init.raw;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = 'application/json';
    }
    const response = await app.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: response.status, body: parsed, text, headers: response.headers };
  };

  return {
    app,
    store,
    clock,
    ids,
    tokens,
    catalog,
    metrics,
    logLines,
    secrets: { admin, responder, viewer },
    call,
  };
}

export type ApiHarness = Awaited<ReturnType<typeof createApiHarness>>;

/** One firing Alertmanager v4 notification (the recorded shape), for tests that need an incident. */
export const firingNotification = (fingerprint: string, summary = 'Deadlocks on shop-db') => ({
  version: '4',
  status: 'firing',
  receiver: 'hindsight',
  groupKey: '{}:{alertname="PostgresDeadlocks"}',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'PostgresDeadlocks', instance: 'shop-db:9187', severity: 'critical' },
      annotations: { summary },
      startsAt: '2026-11-30T15:38:05.142Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint,
    },
  ],
});

/** Opens an incident through the Alertmanager webhook; returns its id. */
export async function openIncident(h: ApiHarness, fingerprint = 'fp-1'): Promise<string> {
  const reply = await h.call('POST', '/api/v1/integrations/alertmanager', {
    token: 's3cret',
    body: firingNotification(fingerprint),
  });
  if (reply.status !== 200) throw new Error(`could not open an incident: ${reply.status} ${reply.text}`);
  const incidentId = inboundReplySchema.parse(reply.body).alerts[0]?.incidentId ?? null;
  if (incidentId === null) throw new Error('the alert joined no incident');
  return incidentId;
}

/** The error body `{ code, message, details }`, checked against its schema. */
export const errorOf = (reply: Reply) => errorBodySchema.parse(reply.body);
