import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { z } from 'zod';
import type { InboundAlert } from '../../core/alert.js';
import { ApiError } from '../api-error.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute, readJson } from '../route-registry.js';
import { severitySchema } from '../schemas/common-schemas.js';
import type { ServerMetrics } from '../server-metrics.js';
import type { InboundAlertReceiver, IntegrationLookup } from './inbound-ports.js';

/** An event of the PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). */
export const pagerdutyEventSchema = z
  .object({
    routing_key: z
      .string()
      .min(1)
      .max(1000)
      .meta({ description: "The integration's secret (PagerDuty's integration key)." }),
    event_action: z.enum(['trigger', 'acknowledge', 'resolve']),
    dedup_key: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .meta({ description: 'Generated on trigger when left out; required to acknowledge or resolve.' }),
    payload: z
      .object({
        summary: z.string().min(1).max(1024),
        source: z.string().min(1).max(1000),
        severity: severitySchema,
        timestamp: z.string().optional(),
        component: z.string().max(1000).optional(),
        group: z.string().max(1000).optional(),
        class: z.string().max(1000).optional(),
        custom_details: z.record(z.string(), z.unknown()).optional(),
      })
      .optional(),
    client: z.string().optional(),
    client_url: z.string().optional(),
    links: z.array(z.unknown()).optional(),
    images: z.array(z.unknown()).optional(),
  })
  .superRefine((event, ctx) => {
    if (event.event_action === 'trigger' && event.payload === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['payload'],
        message: "'payload' is missing or empty (required for trigger)",
      });
    }
    if (event.event_action !== 'trigger' && event.dedup_key === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['dedup_key'],
        message: `'dedup_key' is required for ${event.event_action}`,
      });
    }
  });

type PagerdutyEvent = z.output<typeof pagerdutyEventSchema>;

export const pagerdutyAcceptedSchema = z.object({
  status: z.literal('success'),
  message: z.literal('Event processed'),
  dedup_key: z.string(),
});

/** PagerDuty's own 400 shape, so senders that speak it understand the refusal. */
export const pagerdutyInvalidSchema = z.object({
  status: z.literal('invalid event'),
  message: z.string(),
  errors: z.array(z.string()),
});

const MAX_LABELS = 100;

/** custom_details (and the payload's source, component, group, class) as string labels. */
const labelsOf = (payload: NonNullable<PagerdutyEvent['payload']>): Record<string, string> => {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload.custom_details ?? {}).slice(0, MAX_LABELS)) {
    labels[key] = (typeof value === 'string' ? value : JSON.stringify(value)).slice(0, 1000);
  }
  labels['source'] = payload.source;
  for (const key of ['component', 'group', 'class'] as const) {
    const value = payload[key];
    if (value !== undefined) labels[key] = value;
  }
  return labels;
};

/** One event → one InboundAlert of `service`, keyed by `dedupKey`. */
export function pagerdutyToInbound(
  event: PagerdutyEvent,
  service: string,
  dedupKey: string,
  receivedAt: number,
): InboundAlert {
  const payload = event.payload;
  const stamped = payload?.timestamp === undefined ? NaN : Date.parse(payload.timestamp);
  return {
    source: 'pagerduty',
    service,
    fingerprint: dedupKey,
    action: event.event_action,
    severity: payload?.severity ?? 'error',
    summary: payload?.summary ?? dedupKey,
    labels: payload === undefined ? {} : labelsOf(payload),
    at: Number.isFinite(stamped) && stamped > 0 ? stamped : receivedAt,
  };
}

const invalid = (c: Context, errors: readonly string[]): Response =>
  c.json({ status: 'invalid event', message: 'Event object is invalid', errors }, 400);

/**
 * `POST /v2/enqueue` — PagerDuty's path and shapes, so a tool that sends PagerDuty events needs only
 * a new base URL; the integration's secret is the `routing_key`.
 */
export const pagerdutyRoute = (deps: {
  readonly integrations: IntegrationLookup;
  readonly intake: InboundAlertReceiver;
  readonly metrics: ServerMetrics;
  readonly now: () => number;
}): AnyRoute =>
  defineRoute({
    method: 'post',
    path: '/v2/enqueue',
    summary: 'PagerDuty Events API v2: trigger, acknowledge, resolve; dedup_key deduplicates',
    tag: 'integrations',
    access: 'integration',
    body: pagerdutyEventSchema,
    rawBody: true,
    responses: {
      202: { description: 'Accepted', schema: pagerdutyAcceptedSchema },
      400: {
        description: 'Invalid event or unknown routing_key (PagerDuty shape)',
        schema: pagerdutyInvalidSchema,
      },
    },
    handle: async (_input, c) => {
      let raw: unknown;
      try {
        raw = await readJson(c);
      } catch (error) {
        if (error instanceof ApiError) return invalid(c, [error.message]);
        throw error;
      }
      const parsed = pagerdutyEventSchema.safeParse(raw);
      if (!parsed.success) {
        return invalid(
          c,
          parsed.error.issues.map((issue) =>
            issue.path.length === 0 ? issue.message : `${issue.path.map(String).join('.')}: ${issue.message}`,
          ),
        );
      }
      const event = parsed.data;
      const service = await deps.integrations.findIntegration('pagerduty', event.routing_key);
      if (service === null)
        return invalid(c, ["'routing_key' is not the secret of any pagerduty integration"]);
      const dedupKey = event.dedup_key ?? randomUUID().replaceAll('-', '');
      await deps.intake.receive(
        [pagerdutyToInbound(event, service.name, dedupKey, deps.now())],
        'integration:pagerduty',
      );
      deps.metrics.countInbound('pagerduty');
      return c.json({ status: 'success', message: 'Event processed', dedup_key: dedupKey }, 202);
    },
  });
