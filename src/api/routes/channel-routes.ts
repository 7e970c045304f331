import { z } from 'zod';
import { actorOf } from '../middleware/auth/bearer-auth.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { errorBodySchema, nameSchema } from '../schemas/common-schemas.js';
import type { PagingUseCases } from './paging-use-cases.js';

export const channelTestSchema = z.object({
  channel: z.string(),
  type: z.string(),
  destination: z.string().meta({ description: 'Where it delivers, without secrets.' }),
  result: z.object({
    outcome: z.enum(['sent', 'failed']),
    retryable: z.boolean().optional(),
    reason: z.string().optional(),
    retryAfterMs: z.number().optional(),
    maybeDelivered: z.literal(true).optional(),
  }),
});

export const channelRoutes = (paging: PagingUseCases, now: () => number): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/channels/:name/test',
    summary: 'Sends a test message through a configured channel and reports the outcome',
    tag: 'paging',
    access: 'admin',
    params: z.object({ name: nameSchema }),
    responses: {
      200: {
        description: 'The outcome (a failed delivery is still a 200: the test ran)',
        schema: channelTestSchema,
      },
      404: { description: 'No such channel', schema: errorBodySchema },
    },
    handle: async ({ params }, c) =>
      c.json(await paging.testChannel(params.name, actorOf(c.var.token), now())),
  }),
];
