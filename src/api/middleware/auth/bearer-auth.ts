import type { MiddlewareHandler } from 'hono';
import type { TokenView } from '../../../app/token-service.js';
import { roleAllows } from '../../../app/token-service.js';
import type { Role } from '../../../core/catalog.js';
import { ApiError } from '../../api-error.js';
import type { ApiEnv } from '../../route-registry.js';

/** What the API needs of the token use case. */
export interface TokenVerifier {
  verify(secret: string): Promise<TokenView | null>;
}

/** The secret of an `Authorization: Bearer <secret>` header, or null. */
export function bearerSecret(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1] ?? null;
}

const unauthenticated = (message: string): ApiError =>
  new ApiError({ status: 401, code: 'UNAUTHENTICATED', message });

/**
 * Requires a bearer API token of at least `role`: 401 without one or with an unknown one, 403 when
 * its role is too low. The verified token is left in `c.var.token` (its name is the actor).
 */
export function requireToken(tokens: TokenVerifier, role: Role): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const secret = bearerSecret(c.req.header('authorization'));
    if (secret === null) {
      c.header('WWW-Authenticate', 'Bearer realm="hindsight"');
      throw unauthenticated(
        'this route needs an API token: send `Authorization: Bearer <token>` (create one with POST /api/v1/tokens as an admin)',
      );
    }
    const token = await tokens.verify(secret);
    if (token === null) {
      c.header('WWW-Authenticate', 'Bearer realm="hindsight", error="invalid_token"');
      throw unauthenticated('the API token is not known (deleted, or mistyped); ask an admin for a new one');
    }
    if (!roleAllows(token.role, role)) {
      throw new ApiError({
        status: 403,
        code: 'FORBIDDEN',
        message: `token "${token.name}" has role ${token.role}; this route needs ${role} or higher`,
        details: { role: token.role, required: role },
      });
    }
    c.set('token', token);
    await next();
  };
}

/** Who did it, for the timeline: the token's name. */
export const actorOf = (token: TokenView): string => `token:${token.name}`;
