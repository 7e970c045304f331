import { z } from 'zod';
import type { IncidentStore } from '../../core/incident-store.js';
import type { RouteAccess } from '../route-registry.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import type { RecordCounts, ServerMetrics } from '../server-metrics.js';

/** What readiness and the metrics need of the store. */
export interface StatusSource {
  /** Is the store answering? Never throws. */
  ping(): Promise<boolean>;
  counts(): Promise<RecordCounts>;
}

const statusSchema = z.object({ status: z.enum(['ok', 'unavailable']) });

/**
 * Probes and metrics. `/healthz`: the process answers. `/readyz`: the store answers too (a load
 * balancer sends traffic only then). `/metrics`: Prometheus text; a viewer token unless public.
 */
export const healthRoutes = (deps: {
  readonly status: StatusSource;
  readonly metrics: ServerMetrics;
  readonly metricsAccess: RouteAccess;
}): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process answers',
    tag: 'operations',
    access: 'public',
    responses: { 200: { description: 'Up', schema: statusSchema } },
    handle: (_input, c) => c.json({ status: 'ok' }),
  }),
  defineRoute({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: the store answers',
    tag: 'operations',
    access: 'public',
    responses: {
      200: { description: 'Ready', schema: statusSchema },
      503: { description: 'The store does not answer', schema: statusSchema },
    },
    handle: async (_input, c) =>
      (await deps.status.ping()) ? c.json({ status: 'ok' }) : c.json({ status: 'unavailable' }, 503),
  }),
  defineRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (text format 0.0.4)',
    tag: 'operations',
    access: deps.metricsAccess,
    responses: { 200: { description: 'The metrics', contentType: 'text/plain; version=0.0.4' } },
    handle: async (_input, c) => {
      const text = await deps.metrics.render(await deps.status.counts());
      return c.body(text, 200, { 'content-type': deps.metrics.contentType });
    },
  }),
];

/** Readiness and counts straight from the store port (both read-only, cheap). */
export const storeStatus = (store: Pick<IncidentStore, 'ping' | 'alerts' | 'incidents'>): StatusSource => ({
  ping: () => store.ping(),
  counts: async () => {
    const [alerts, incidents] = await Promise.all([
      store.alerts.countByStatus(),
      store.incidents.countByState(),
    ]);
    return { alerts, incidents };
  },
});
