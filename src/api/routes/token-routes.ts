import type { TokenService } from '../../app/token-service.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import {
  tokenCreateBodySchema,
  tokenCreatedSchema,
  tokenListSchema,
  tokenParamsSchema,
} from '../schemas/catalog-schemas.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';

const tag = 'tokens';

export type TokenUseCases = Pick<TokenService, 'list' | 'create' | 'delete'>;

export const tokenRoutes = (tokens: TokenUseCases): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/tokens',
    summary: 'API tokens, oldest first, without their secrets',
    tag,
    access: 'admin',
    responses: { 200: { description: 'The tokens', schema: tokenListSchema } },
    handle: async (_input, c) => c.json({ tokens: await tokens.list() }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/tokens',
    summary: 'Creates a token; its secret is in this reply only',
    tag,
    access: 'admin',
    body: tokenCreateBodySchema,
    responses: { 201: { description: 'The token and its secret', schema: tokenCreatedSchema } },
    handle: async ({ body }, c) => c.json(await tokens.create(body), 201),
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/tokens/:id',
    summary: 'Deletes a token: it stops working at once',
    tag,
    access: 'admin',
    params: tokenParamsSchema,
    responses: {
      204: { description: 'Deleted' },
      404: { description: 'No such token', schema: errorBodySchema },
    },
    handle: async ({ params }, c) => {
      await tokens.delete(params.id);
      return c.body(null, 204);
    },
  }),
];
