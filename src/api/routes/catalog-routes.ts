import type { CatalogService, TargetWithHealth } from '../../app/catalog-service.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import {
  serviceBodySchema,
  serviceListSchema,
  serviceParamsSchema,
  serviceSchema,
  targetBodySchema,
  targetListSchema,
  targetSchema,
} from '../schemas/catalog-schemas.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';

export type CatalogUseCases = Pick<
  CatalogService,
  | 'listServices'
  | 'getService'
  | 'saveService'
  | 'deleteService'
  | 'listTargets'
  | 'getTarget'
  | 'saveTarget'
  | 'deleteTarget'
>;

const notFound = (what: string) => ({ description: `No such ${what}`, schema: errorBodySchema });

const targetView = ({ target, health }: TargetWithHealth) => ({ ...target, health });

/** Services and targets: the same objects the configuration file declares, changed through the API. */
export const catalogRoutes = (catalog: CatalogUseCases): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/services',
    summary: 'Services, by name (integrations by type; never their secrets)',
    tag: 'services',
    access: 'viewer',
    responses: { 200: { description: 'The services', schema: serviceListSchema } },
    handle: async (_input, c) => c.json({ services: await catalog.listServices() }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/services/:name',
    summary: 'One service',
    tag: 'services',
    access: 'viewer',
    params: serviceParamsSchema,
    responses: { 200: { description: 'The service', schema: serviceSchema }, 404: notFound('service') },
    handle: async ({ params }, c) => c.json(await catalog.getService(params.name)),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/services/:name',
    summary: 'Creates or replaces a service (fields left out keep their current value or default)',
    tag: 'services',
    access: 'admin',
    params: serviceParamsSchema,
    body: serviceBodySchema,
    responses: { 200: { description: 'The service as saved', schema: serviceSchema } },
    handle: async ({ params, body }, c) => c.json(await catalog.saveService({ ...body, name: params.name })),
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/services/:name',
    summary: 'Deletes a service that no target belongs to',
    tag: 'services',
    access: 'admin',
    params: serviceParamsSchema,
    responses: {
      204: { description: 'Deleted' },
      404: notFound('service'),
      409: { description: 'Targets still belong to it', schema: errorBodySchema },
    },
    handle: async ({ params }, c) => {
      await catalog.deleteService(params.name);
      return c.body(null, 204);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/targets',
    summary: 'Monitored targets with the health their agents last reported',
    tag: 'targets',
    access: 'viewer',
    responses: { 200: { description: 'The targets', schema: targetListSchema } },
    handle: async (_input, c) => c.json({ targets: (await catalog.listTargets()).map(targetView) }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/targets/:name',
    summary: 'One target with its health',
    tag: 'targets',
    access: 'viewer',
    params: serviceParamsSchema,
    responses: { 200: { description: 'The target', schema: targetSchema }, 404: notFound('target') },
    handle: async ({ params }, c) => c.json(targetView(await catalog.getTarget(params.name))),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/targets/:name',
    summary: 'Creates or replaces a target (its URL is kept redacted; an agent with the real URL watches it)',
    tag: 'targets',
    access: 'admin',
    params: serviceParamsSchema,
    body: targetBodySchema,
    responses: {
      200: { description: 'The target as saved', schema: targetSchema },
      400: { description: 'Unknown service', schema: errorBodySchema },
    },
    handle: async ({ params, body }, c) => {
      const target = await catalog.saveTarget({ ...body, name: params.name });
      return c.json(targetView(await catalog.getTarget(target.name)));
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/targets/:name',
    summary: 'Deletes a target',
    tag: 'targets',
    access: 'admin',
    params: serviceParamsSchema,
    responses: { 204: { description: 'Deleted' }, 404: notFound('target') },
    handle: async ({ params }, c) => {
      await catalog.deleteTarget(params.name);
      return c.body(null, 204);
    },
  }),
];
