import { z } from 'zod';
import { STORED_METRICS } from '../../core/metrics-series.js';
import { epochMsSchema, nameSchema } from './common-schemas.js';

/** A series point as an agent pushes it (core/metrics-series.ts); unknown metric names are dropped. */
export const seriesPointSchema = z.object({
  target: nameSchema,
  at: epochMsSchema,
  resolutionMs: z.number().int().min(1000).max(86_400_000),
  samples: z.number().int().min(1).max(1_000_000),
  values: z
    .record(z.string(), z.number())
    .transform((values) =>
      Object.fromEntries(
        Object.entries(values).filter(([k]) => (STORED_METRICS as readonly string[]).includes(k)),
      ),
    ),
});

export const statementPointSchema = z.object({
  target: nameSchema,
  at: epochMsSchema,
  resolutionMs: z.number().int().min(1000).max(86_400_000),
  // The store keeps query ids as int8 (migration 0005): one out of range would fail the whole push.
  queryId: z
    .string()
    .regex(/^-?\d{1,20}$/, 'a pg_stat_statements queryid as decimal text')
    .refine((id) => BigInt(id) >= -(2n ** 63n) && BigInt(id) < 2n ** 63n, {
      message: 'a pg_stat_statements queryid is a 64-bit signed integer',
    }),
  query: z.string().max(100_000),
  calls: z.number().nonnegative(),
  totalExecMs: z.number().nonnegative(),
  rows: z.number().nonnegative(),
});

/** Intervals an agent closed: optional in the push, so an older agent's body is accepted as before. */
export const seriesPushSchema = z.object({
  points: z.array(seriesPointSchema).max(10_000),
  statements: z.array(statementPointSchema).max(200_000),
});
