import { FINDING_KINDS } from '../../core/finding.js';
import { z } from 'zod';
import { ALL_METRICS } from '../../core/metrics-series.js';
import { findingSchema } from './finding-schemas.js';
import { epochMsSchema, nameSchema } from './common-schemas.js';

/** A time as epoch milliseconds or an ISO 8601 date-time (`2026-11-30T12:00:00Z`). */
export const instantQuerySchema = z
  .string()
  .transform((text, ctx) => {
    const at = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isSafeInteger(at) || at < 0) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a time: give epoch milliseconds or an ISO 8601 date-time such as 2026-11-30T12:00:00Z`,
      });
      return z.NEVER;
    }
    return at;
  })
  .meta({ description: 'Epoch milliseconds or an ISO 8601 date-time.' });

export const targetNameParamsSchema = z.object({ name: nameSchema });

export const seriesQuerySchema = z.object({
  metric: z.enum(ALL_METRICS as [string, ...string[]]).meta({
    description:
      'A stored metric (sessions_active, active_cpu, active_lock, lock_waits, connections, longest_transaction_ms, commits, rollbacks, deadlocks, temp_bytes, …) or a derived one (cache_hit_ratio, rollback_ratio, connections_used_ratio).',
  }),
  from: instantQuerySchema
    .optional()
    .meta({ description: 'Start (inclusive); default: an hour before `to`.' }),
  to: instantQuerySchema.optional().meta({ description: 'End (exclusive); default: now.' }),
});

export const seriesReplySchema = z.object({
  target: z.string(),
  metric: z.string(),
  from: epochMsSchema,
  to: epochMsSchema,
  resolutionMs: z.number().int().meta({
    description:
      'The resolution chosen from the window (10 s up to a day, then 1 min, then 1 h); the newest points, not downsampled yet, may be finer.',
  }),
  points: z.array(z.object({ at: epochMsSchema, value: z.number().nullable() })),
});

export const statementsQuerySchema = z.object({
  from: instantQuerySchema
    .optional()
    .meta({ description: 'Start (inclusive); default: an hour before `to`.' }),
  to: instantQuerySchema.optional().meta({ description: 'End (exclusive); default: now.' }),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});

export const statementsReplySchema = z.object({
  target: z.string(),
  from: epochMsSchema,
  to: epochMsSchema,
  statements: z.array(
    z.object({
      queryId: z.string(),
      query: z.string().meta({ description: 'Normalized by pg_stat_statements (literals → $n).' }),
      calls: z.number(),
      totalExecMs: z.number(),
      meanExecMs: z.number(),
      rows: z.number(),
    }),
  ),
});

export const findingHistoryQuerySchema = z.object({
  target: nameSchema.optional(),
  kind: z
    .string()
    .transform((text, ctx) => {
      const kinds = text.split(',').map((k) => k.trim());
      const unknown = kinds.filter((k) => !(FINDING_KINDS as readonly string[]).includes(k));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown finding kind ${unknown.join(', ')}; use ${FINDING_KINDS.join(', ')}`,
        });
        return z.NEVER;
      }
      return kinds as (typeof FINDING_KINDS)[number][];
    })
    .optional()
    .meta({
      description: 'One kind or several, comma-separated: deadlock, blocking_episode, long_transaction…',
    }),
  since: instantQuerySchema.optional().meta({ description: 'Default: 24 hours before now.' }),
  until: instantQuerySchema.optional(),
  after: z
    .string()
    .regex(/^\d+_.+$/, 'a cursor is the `next` of the previous page')
    .optional()
    .meta({ description: 'The `next` cursor of the previous page.' }),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const findingHistoryReplySchema = z.object({
  findings: z.array(findingSchema),
  next: z
    .string()
    .nullable()
    .meta({ description: 'Pass as `after` for the next page; null on the last page.' }),
});
