import { z } from 'zod';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import type { PagingUseCases } from './paging-use-cases.js';

const shiftSchema = z.object({
  schedule: z.string(),
  timeZone: z.string(),
  user: z.string().nullable().meta({ description: 'Who is on call; null when nobody is.' }),
  from: z.number().nullable(),
  until: z.number().nullable(),
  source: z.enum(['rotation', 'override', 'nobody']),
});

export const onCallReportSchema = z.object({ at: z.number(), schedules: z.array(shiftSchema) });

const querySchema = z.object({
  at: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
      if (Number.isNaN(ms)) {
        ctx.addIssue({
          code: 'custom',
          message: 'at is an ISO time (2026-03-29T09:00:00+02:00) or epoch milliseconds',
        });
        return z.NEVER;
      }
      return ms;
    }),
});

export const onCallRoutes = (paging: PagingUseCases, now: () => number): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/oncall',
    summary: 'Who is on call for every schedule, now or `at` a given time',
    tag: 'paging',
    access: 'viewer',
    query: querySchema,
    responses: {
      200: { description: 'One shift per schedule', schema: onCallReportSchema },
      400: { description: 'A bad `at`', schema: errorBodySchema },
    },
    handle: async ({ query }, c) => c.json(await paging.onCall(query.at ?? now())),
  }),
];
