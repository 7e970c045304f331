import type { TimelineKind } from '../../core/incident.js';
import { z } from 'zod';
import { epochMsSchema, limitQuerySchema, nameSchema, severitySchema } from './common-schemas.js';
import { findingSchema } from './finding-schemas.js';

export const incidentStateSchema = z.enum([
  'triggered',
  'acknowledged',
  'mitigated',
  'resolved',
  'closed',
  'cancelled',
]);

export const incidentSchema = z.object({
  id: z.string(),
  service: z.string(),
  groupKey: z.string(),
  title: z.string(),
  summary: z.string(),
  severity: severitySchema,
  state: incidentStateSchema,
  createdAt: epochMsSchema,
  acknowledgedAt: epochMsSchema.nullable(),
  mitigatedAt: epochMsSchema.nullable(),
  resolvedAt: epochMsSchema.nullable(),
  closedAt: epochMsSchema.nullable(),
  cancelledAt: epochMsSchema.nullable(),
  lastAlertAt: epochMsSchema,
  version: z.number().int(),
});

export const alertSchema = z.object({
  id: z.string(),
  fingerprint: z.string(),
  source: z.enum(['rule', 'alertmanager', 'pagerduty']),
  service: z.string(),
  target: z.string().nullable(),
  rule: z.string().nullable(),
  severity: severitySchema,
  status: z.enum(['firing', 'resolved']),
  summary: z.string(),
  labels: z.record(z.string(), z.string()),
  startedAt: epochMsSchema,
  updatedAt: epochMsSchema,
  resolvedAt: epochMsSchema.nullable(),
  incidentId: z.string().nullable(),
  evidence: z.array(z.string()),
});

export const timelineEntrySchema = z.object({
  id: z.string(),
  incidentId: z.string(),
  at: epochMsSchema,
  actor: z.string(),
  kind: z.enum([
    'opened',
    'alert_added',
    'alert_resolved',
    'state_changed',
    'note',
    'summary_updated',
    'evidence_added',
    'escalated',
    'notification_sent',
    'notification_failed',
    'notification_unknown',
    'deploy',
  ] satisfies readonly TimelineKind[]),
  text: z.string(),
  deadEnd: z.boolean(),
  alertId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});

export const incidentListQuerySchema = z.object({
  state: z.enum(['open', 'resolved', 'all']).default('open'),
  service: nameSchema.optional(),
  limit: limitQuerySchema,
});

export const incidentListSchema = z.object({ incidents: z.array(incidentSchema) });

/** Users with a failed request as a share of the service's active users over the incident's span. */
export const impactSchema = z
  .object({
    affectedUsers: z.number().int().nonnegative(),
    activeUsers: z.number().int().nonnegative(),
    share: z.number().min(0).max(1),
    windowMs: z.number().int().nonnegative(),
    truncated: z
      .boolean()
      .meta({ description: "A rollup's user set reached its bound: both counts are lower bounds." }),
  })
  .meta({
    description:
      "Distinct users with a failed request as a share of active users, over the incident's span (from a minute before it opened to its resolution); null when the app names no users.",
  });

export const attributionSchema = z
  .object({
    route: z
      .string()
      .meta({ description: '`POST /checkout`, or `job restock` for query failures outside requests.' }),
    sqlstate: z.string().nullable(),
    callSite: z.string().nullable(),
    query: z.string().nullable(),
    errorClass: z.string().nullable(),
    share: z.number().min(0).max(1).meta({ description: "This cause's share of the route's failures." }),
    failures: z.number().int().nonnegative(),
  })
  .meta({
    description:
      "Which share of a route's failures carried which SQLSTATE and call site. Text from the monitored world: render as text.",
  });

export const onsetDeploySchema = z
  .object({
    version: z.string(),
    commit: z.string().nullable(),
    at: epochMsSchema,
    minutesBeforeOnset: z.number().nonnegative(),
  })
  .meta({ description: 'The last deploy of the service at most 2 h before the incident opened.' });

export const incidentLoadSchema = z
  .object({
    target: z.string(),
    at: epochMsSchema,
    resolutionMs: z.number().int().positive(),
    active: z.number().nonnegative().meta({ description: 'Mean active backends in the interval.' }),
    lockWaiting: z.number().nonnegative().meta({ description: 'Of them, waiting on a heavyweight lock.' }),
    onCpu: z.number().nonnegative().meta({ description: 'Working: active with no wait event.' }),
    io: z.number().nonnegative().meta({ description: 'Working: reading or writing (an IO wait).' }),
    otherWait: z
      .number()
      .nonnegative()
      .meta({ description: 'Waiting on anything else (LWLock, IPC, Client…).' }),
    behind: z.array(z.object({ pid: z.number().int(), waiters: z.number().int().nonnegative() })).meta({
      description: "The root blockers of the incident's blocking episodes, most sessions blocked first.",
    }),
    cpuBusy: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .meta({ description: "The host's busy CPU share; null when the host was not read." }),
  })
  .meta({
    description:
      "Was the database working or waiting? The busiest 10 s interval of the service's targets over the incident's span, from the kept series; null without metrics.",
  });

export const incidentDetailSchema = z.object({
  incident: incidentSchema,
  timeline: z.array(timelineEntrySchema),
  alerts: z.array(alertSchema),
  evidence: z.array(findingSchema),
  impact: impactSchema.nullable(),
  attribution: z
    .array(attributionSchema)
    .meta({ description: 'Largest first (at most 10). Computed when read from the rollups, kept 14 days.' }),
  onsetDeploy: onsetDeploySchema.nullable(),
  load: incidentLoadSchema.nullable(),
});

export const idParamsSchema = z.object({ id: z.string().min(1).max(200) });

/** A state change's body, which may be empty: `version` makes it conditional on what the caller saw. */
export const commandBodySchema = z.object({
  version: z.number().int().nonnegative().optional().meta({
    description:
      "The incident's version as the caller last saw it; when it changed since, the reply is 409 instead of a lost update.",
  }),
});

export const noteBodySchema = z.object({
  text: z.string().trim().min(1, 'write the note').max(10_000),
  deadEnd: z.boolean().default(false),
});

export const alertListQuerySchema = z.object({
  status: z.enum(['firing', 'resolved']).optional(),
  service: nameSchema.optional(),
  limit: limitQuerySchema,
});

export const alertListSchema = z.object({ alerts: z.array(alertSchema) });
