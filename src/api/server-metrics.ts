import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AlertStatus } from '../core/alert.js';
import type { IncidentState } from '../core/incident.js';
import { OPEN_STATES } from '../core/incident.js';
import { registerTargetMetrics, type TargetMetricsSource } from './target-exporter.js';

/** What the store holds right now, read at each scrape. */
export interface RecordCounts {
  readonly alerts: Readonly<Record<AlertStatus, number>>;
  readonly incidents: Readonly<Record<IncidentState, number>>;
}

/**
 * The server's Prometheus metrics. `serve` hands the `observe…`/`count…` methods to the engine and
 * the agents; the API records its own requests and renders everything at `GET /metrics`.
 */
export interface ServerMetrics {
  /** One rule-engine cycle took this long. */
  observeRuleCycle(seconds: number): void;
  /** Sampling `target` took this long (serve's own agents, and pushes from remote ones). */
  observeSampleLatency(target: string, seconds: number): void;
  /** Alerts received from an inbound integration (`alertmanager`, `pagerduty`). */
  countInbound(integration: string, count?: number): void;
  observeRequest(request: {
    readonly method: string;
    readonly route: string;
    readonly status: number;
    readonly seconds: number;
  }): void;
  /** A notification attempt ended: `sent`, `retrying`, `failed` or `unknown`, by channel (paging). */
  countNotification(channel: string, outcome: string): void;
  /** The first page of an incident was sent this long after the incident opened. */
  observeFirstPage(seconds: number): void;
  /** App events (`/api/v1/events`, OTLP): stored, rejected as invalid, or dropped by the sender before sending. */
  countAppEvents(outcome: 'accepted' | 'rejected' | 'dropped', count: number): void;
  /** The Prometheus text exposition (format 0.0.4), with the store's counts as of now. */
  render(counts: RecordCounts): Promise<string>;
  readonly contentType: string;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Metrics in a registry of their own (never prom-client's global one, so that several servers in
 * one process — tests — do not collide). `processMetrics` adds Node's process_* and nodejs_* ones.
 */
export function createServerMetrics(
  options: {
    readonly processMetrics?: boolean;
    /** The monitored targets' metrics (serve's own watches), read at each scrape. */
    readonly targets?: TargetMetricsSource;
  } = {},
): ServerMetrics {
  const registry = new Registry();
  if (options.targets !== undefined) registerTargetMetrics(registry, options.targets);
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters: `promtool check metrics` refuses them. Their per-type
    // breakdowns (nodejs_active_handles{type}…) stay.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ])
      registry.removeSingleMetric(name);
  }

  const alertsFiring = new Gauge({
    name: 'hindsight_alerts_firing',
    help: 'Alerts firing now.',
    registers: [registry],
  });
  const incidentsOpen = new Gauge({
    name: 'hindsight_incidents_open',
    help: 'Open incidents by state (triggered, acknowledged, mitigated).',
    labelNames: ['state'],
    registers: [registry],
  });
  const ruleCycle = new Histogram({
    name: 'hindsight_rule_cycle_duration_seconds',
    help: 'Time one rule-engine cycle took.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const sampleLatency = new Histogram({
    name: 'hindsight_agent_sample_latency_seconds',
    help: 'Time one sample of a monitored PostgreSQL took, by target.',
    labelNames: ['target'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const inbound = new Counter({
    name: 'hindsight_inbound_alerts_total',
    help: 'Alerts received from inbound integrations, by integration.',
    labelNames: ['integration'],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'hindsight_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'hindsight_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern.',
    labelNames: ['method', 'route'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const notifications = new Counter({
    name: 'hindsight_notifications_total',
    help: 'Notification attempts by channel and outcome (sent, retrying, failed, unknown).',
    labelNames: ['channel', 'outcome'],
    registers: [registry],
  });
  const firstPage = new Histogram({
    name: 'hindsight_incident_first_page_seconds',
    help: 'Time from an incident opening to its first page being sent.',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const appEvents = new Counter({
    name: 'hindsight_app_events_total',
    help: 'App events by outcome: accepted (stored), rejected (invalid), dropped (by the sender, buffer full while the server was unreachable).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ['accepted', 'rejected', 'dropped']) appEvents.inc({ outcome }, 0);
  // Known labels start at zero so that rate() and absent() work from the first scrape.
  for (const integration of ['alertmanager', 'pagerduty']) inbound.inc({ integration }, 0);

  return {
    observeRuleCycle: (seconds) => {
      ruleCycle.observe(seconds);
    },
    observeSampleLatency: (target, seconds) => {
      sampleLatency.observe({ target }, seconds);
    },
    countInbound: (integration, count = 1) => {
      inbound.inc({ integration }, count);
    },
    observeRequest: ({ method, route, status, seconds }) => {
      requests.inc({ method, route, status: String(status) });
      requestDuration.observe({ method, route }, seconds);
    },
    countNotification: (channel, outcome) => {
      notifications.inc({ channel, outcome });
    },
    observeFirstPage: (seconds) => {
      firstPage.observe(seconds);
    },
    countAppEvents: (outcome, count) => {
      appEvents.inc({ outcome }, count);
    },
    render: async (counts) => {
      alertsFiring.set(counts.alerts.firing);
      for (const state of OPEN_STATES) incidentsOpen.set({ state }, counts.incidents[state]);
      return registry.metrics();
    },
    contentType: registry.contentType,
  };
}
