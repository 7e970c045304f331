import type { Alert, AlertStatus } from '../../core/alert.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { alertListQuerySchema, alertListSchema } from '../schemas/incident-schemas.js';

/** What the API needs to list alerts. */
export interface AlertQueries {
  list(query: {
    readonly status?: AlertStatus;
    readonly service?: string;
    readonly limit?: number;
  }): Promise<readonly Alert[]>;
}

export const alertRoutes = (alerts: AlertQueries): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/alerts',
    summary: 'Alerts, newest first, filtered by status and service',
    tag: 'alerts',
    access: 'viewer',
    query: alertListQuerySchema,
    responses: { 200: { description: 'The alerts', schema: alertListSchema } },
    handle: async ({ query }, c) => {
      const { status, service, limit } = query;
      const filter = {
        ...(status === undefined ? {} : { status }),
        ...(service === undefined ? {} : { service }),
        ...(limit === undefined ? {} : { limit }),
      };
      return c.json({ alerts: await alerts.list(filter) });
    },
  }),
];
