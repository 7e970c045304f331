import { z } from 'zod';
import type { AnyRoute, ResponseSpec } from './route-registry.js';
import { errorBodySchema } from './schemas/common-schemas.js';

type JsonSchema = Record<string, unknown>;

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

/** `/api/v1/incidents/:id` → `/api/v1/incidents/{id}`. */
const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const parameters = (schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] => {
  if (schema === undefined) return [];
  const object = jsonSchema(schema, 'input');
  const properties = (object['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: property,
    ...(typeof property['description'] === 'string' ? { description: property['description'] } : {}),
  }));
};

const response = (spec: ResponseSpec): JsonSchema => ({
  description: spec.description,
  ...(spec.schema === undefined
    ? spec.contentType === undefined
      ? {}
      : { content: { [spec.contentType]: { schema: { type: 'string' } } } }
    : {
        content: { [spec.contentType ?? 'application/json']: { schema: jsonSchema(spec.schema, 'output') } },
      }),
});

const errorReply = (description: string): ResponseSpec => ({ description, schema: errorBodySchema });

const ROLE_NOTE = {
  viewer: 'Needs a viewer token or higher.',
  responder: 'Needs a responder token or higher.',
  admin: 'Needs an admin token.',
  ingest: 'Needs an ingest, responder or admin token (an ingest token can call only the ingest routes).',
} as const;

/**
 * The OpenAPI 3.1 document, generated from the route registry: the same zod schemas that validate
 * each request describe it here (JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
 */
export function buildOpenApiDocument(
  routes: readonly AnyRoute[],
  info: { readonly version: string },
): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const responses: Record<string, ResponseSpec> = {};
    for (const [status, spec] of Object.entries(route.responses)) responses[status] = spec;
    const hasInput = route.params !== undefined || route.query !== undefined || route.body !== undefined;
    if (hasInput) responses['400'] ??= errorReply('Invalid request: `details.issues` names each bad field');
    if (route.method !== 'get') responses['413'] ??= errorReply('Body too large');
    let security: JsonSchema[] = [];
    let roleNote = '';
    if (route.access === 'integration') {
      security = route.path.startsWith('/v2/') ? [] : [{ integrationSecret: [] }];
      roleNote = route.path.startsWith('/v2/')
        ? "Authenticated by the body's routing_key."
        : "Authenticated by the integration's secret as a bearer token.";
      if (route.path.startsWith('/api/')) responses['401'] ??= errorReply('No or unknown integration secret');
    } else if (route.access !== 'public') {
      security = [{ bearerToken: [] }];
      roleNote = ROLE_NOTE[route.access];
      responses['401'] ??= errorReply('No token, or an unknown one');
      responses['403'] ??= errorReply('The token’s role is too low');
    }
    const operation: JsonSchema = {
      operationId: `${route.method}${openApiPath(route.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, next: string | undefined) => (next ?? '').toUpperCase())}`,
      summary: route.summary,
      tags: [route.tag],
      security,
      'x-hindsight-access': route.access,
      ...(roleNote === '' ? {} : { description: roleNote }),
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(route.body === undefined
        ? {}
        : {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
            },
          }),
      responses: Object.fromEntries(
        Object.entries(responses).map(([status, spec]) => [status, response(spec)]),
      ),
    };
    (paths[openApiPath(route.path)] ??= {})[route.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hindsight API',
      version: info.version,
      description:
        'Incidents, alerts, rules, services, targets, tokens; agent pushes; inbound Alertmanager and PagerDuty Events v2. Errors are `{ code, message, details }`.',
    },
    components: {
      securitySchemes: {
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token (roles: viewer < responder < admin).',
        },
        integrationSecret: {
          type: 'http',
          scheme: 'bearer',
          description: "A service integration's secret (Alertmanager http_config.authorization).",
        },
      },
    },
    paths,
  };
}
