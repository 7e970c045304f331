import type { TargetHealth } from '../../core/catalog.js';
import type { Finding } from '../../core/finding.js';
import type { SeriesPoint, StatementPoint } from '../../core/metrics-series.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import { ingestBodySchema, ingestReplySchema, toTargetHealth } from '../schemas/finding-schemas.js';
import type { ServerMetrics } from '../server-metrics.js';

/** What agent pushes need of the use cases. */
export interface FindingReceiver {
  /** Saves the findings (idempotent by id: a retried push is kept once) and lets the rules see them. */
  ingestFindings(findings: readonly Finding[], receivedAt: number): Promise<void>;
}

/** Database metrics an agent closed (app/metrics-recorder.ts). */
export interface SeriesReceiver {
  ingest(points: readonly SeriesPoint[], statements: readonly StatementPoint[]): Promise<void>;
}

export interface HealthRecorder {
  reportHealth(health: readonly TargetHealth[]): Promise<void>;
}

/**
 * `POST /api/v1/ingest/findings` — what `hindsight agent` pushes: findings and the health of its
 * targets. The whole body is validated before anything is stored.
 */
export const ingestRoutes = (deps: {
  readonly findings: FindingReceiver;
  readonly health: HealthRecorder;
  /** Absent: a pushed `series` is accepted and not kept. */
  readonly series?: SeriesReceiver;
  readonly metrics: ServerMetrics;
  readonly now: () => number;
  readonly maxBodyBytes: number;
}): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/ingest/findings',
    summary: "An agent's push: findings and its targets' health (ingest, responder or admin token)",
    tag: 'ingest',
    access: 'ingest',
    body: ingestBodySchema,
    maxBodyBytes: deps.maxBodyBytes,
    responses: {
      202: { description: 'Accepted', schema: ingestReplySchema },
      400: { description: 'Not findings', schema: errorBodySchema },
      413: { description: 'Body over the ingest limit: push smaller batches', schema: errorBodySchema },
    },
    handle: async ({ body }, c) => {
      const reportedAt = deps.now();
      if (body.findings.length > 0) await deps.findings.ingestFindings(body.findings, reportedAt);
      if (body.series !== undefined && deps.series !== undefined)
        await deps.series.ingest(body.series.points, body.series.statements);
      if (body.health.length > 0)
        await deps.health.reportHealth(
          body.health.map((entry) => toTargetHealth(entry, body.agent, reportedAt)),
        );
      for (const entry of body.health) {
        if (entry.sampleLatencyMs != null)
          deps.metrics.observeSampleLatency(entry.target, entry.sampleLatencyMs / 1000);
      }
      return c.json({ accepted: body.findings.length }, 202);
    },
  }),
];
