import { z } from 'zod';
import { actorOf } from '../middleware/auth/bearer-auth.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import { idParamsSchema } from '../schemas/incident-schemas.js';
import type { PagingUseCases } from './paging-use-cases.js';

export const escalationRoutes = (paging: PagingUseCases, now: () => number): AnyRoute[] => [
  defineRoute({
    method: 'post',
    path: '/api/v1/incidents/:id/escalate',
    summary: "Escalates now: takes the next step of the incident's escalation policy at once",
    tag: 'incidents',
    access: 'responder',
    params: idParamsSchema,
    responses: {
      200: {
        description: 'Steps taken and messages written to the outbox',
        schema: z.object({ steps: z.number(), enqueued: z.number() }),
      },
      404: { description: 'No such incident', schema: errorBodySchema },
      409: { description: 'Not open, or its service has no escalation policy', schema: errorBodySchema },
    },
    handle: async ({ params }, c) => c.json(await paging.escalateNow(params.id, actorOf(c.var.token), now())),
  }),
];
