import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { InboundAlert, Severity } from '../../core/alert.js';
import { ApiError } from '../api-error.js';
import { bearerSecret } from '../middleware/auth/bearer-auth.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute, parseBody } from '../route-registry.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import type { ServerMetrics } from '../server-metrics.js';
import type { InboundAlertReceiver, IntegrationLookup } from './inbound-ports.js';

const labels = z.record(z.string(), z.string());

/** Alertmanager's webhook body, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export const alertmanagerBodySchema = z.object({
  version: z.literal('4').optional().meta({ description: 'Only version 4 is understood.' }),
  receiver: z.string().optional(),
  status: z.enum(['firing', 'resolved']).optional(),
  groupKey: z.string().optional(),
  externalURL: z.string().optional(),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels,
        annotations: labels.default({}),
        startsAt: z.string().optional(),
        endsAt: z.string().optional(),
        generatorURL: z.string().optional(),
        fingerprint: z.string().min(1).max(200).optional(),
      }),
    )
    .min(1)
    .max(10_000),
});

type AlertmanagerBody = z.output<typeof alertmanagerBodySchema>;

export const inboundReplySchema = z.object({
  accepted: z.number().int(),
  alerts: z.array(
    z.object({ alertId: z.string().nullable(), incidentId: z.string().nullable(), dedupKey: z.string() }),
  ),
});

/** Alertmanager has no fixed severities: the common label values, mapped; anything else is `error`. */
export function severityFromLabel(value: string | undefined): Severity {
  switch (value?.toLowerCase()) {
    case 'critical':
    case 'fatal':
    case 'page':
    case 'emergency':
    case 'alert':
      return 'critical';
    case 'warning':
    case 'warn':
    case 'medium':
      return 'warning';
    case 'info':
    case 'informational':
    case 'notice':
    case 'low':
    case 'none':
    case 'debug':
      return 'info';
    default:
      return 'error';
  }
}

/** An Alertmanager time; its zero time (`0001-01-01T00:00:00Z`) and garbage read as absent. */
const parseTime = (value: string | undefined): number | null => {
  if (value === undefined) return null;
  const at = Date.parse(value);
  return Number.isFinite(at) && at > 0 ? at : null;
};

/** Alertmanagers before 0.19 sent no fingerprint: the labels identify the alert, so hash them. */
const labelsFingerprint = (alertLabels: Readonly<Record<string, string>>): string => {
  const canonical = JSON.stringify(
    Object.entries(alertLabels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  return `labels:${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
};

/** Each entry of `alerts` → one InboundAlert of `service`: firing triggers, resolved resolves. */
export function alertmanagerToInbound(
  body: AlertmanagerBody,
  service: string,
  receivedAt: number,
): InboundAlert[] {
  return body.alerts.map((alert) => ({
    source: 'alertmanager',
    service,
    fingerprint: alert.fingerprint ?? labelsFingerprint(alert.labels),
    action: alert.status === 'firing' ? 'trigger' : 'resolve',
    severity: severityFromLabel(alert.labels['severity']),
    summary: (
      alert.annotations['summary'] ??
      alert.annotations['description'] ??
      alert.labels['alertname'] ??
      'Alertmanager alert'
    ).slice(0, 1000),
    labels: alert.labels,
    at: parseTime(alert.startsAt) ?? receivedAt,
  }));
}

/**
 * `POST /api/v1/integrations/alertmanager`: a webhook receiver with the integration's secret as
 * `http_config.authorization.credentials` (sent as `Authorization: Bearer`).
 */
export const alertmanagerRoute = (deps: {
  readonly integrations: IntegrationLookup;
  readonly intake: InboundAlertReceiver;
  readonly metrics: ServerMetrics;
  readonly now: () => number;
}): AnyRoute =>
  defineRoute({
    method: 'post',
    path: '/api/v1/integrations/alertmanager',
    summary:
      'Alertmanager webhook (version 4): firing alerts trigger, resolved ones resolve; the fingerprint deduplicates',
    tag: 'integrations',
    access: 'integration',
    body: alertmanagerBodySchema,
    rawBody: true,
    responses: {
      200: { description: 'Received', schema: inboundReplySchema },
      400: { description: 'Not an Alertmanager v4 body', schema: errorBodySchema },
      401: { description: 'No or unknown integration secret', schema: errorBodySchema },
    },
    handle: async (_input, c) => {
      const secret = bearerSecret(c.req.header('authorization'));
      const service =
        secret === null ? null : await deps.integrations.findIntegration('alertmanager', secret);
      if (service === null) {
        throw new ApiError({
          status: 401,
          code: 'UNAUTHENTICATED',
          message:
            "the Alertmanager integration secret is missing or unknown; set the webhook's http_config.authorization.credentials to the service's alertmanager secret",
        });
      }
      const body = await parseBody(c, alertmanagerBodySchema);
      const alerts = alertmanagerToInbound(body, service.name, deps.now());
      const results = await deps.intake.receive(alerts, 'integration:alertmanager');
      deps.metrics.countInbound('alertmanager', alerts.length);
      return c.json({ accepted: alerts.length, alerts: results });
    },
  });
