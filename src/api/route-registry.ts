import type { Context, Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import type { TokenView } from '../app/token-service.js';
import type { Role } from '../core/catalog.js';
import { ApiError, invalidRequest } from './api-error.js';
import { requireToken } from './middleware/auth/bearer-auth.js';
import type { TokenVerifier } from './middleware/auth/bearer-auth.js';

export interface ApiEnv {
  Variables: {
    /** The verified bearer token, on routes that need one. */
    token: TokenView;
  };
}

/**
 * Who may call a route: a token of at least this role; `public` (health probes); or `integration`
 * (inbound webhooks, which authenticate with their integration's own secret).
 */
export type RouteAccess = Role | 'public' | 'integration';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

export interface ResponseSpec {
  readonly description: string;
  /** The JSON body; absent for an empty or non-JSON reply. */
  readonly schema?: z.ZodType;
  /** Defaults to application/json when `schema` is set. */
  readonly contentType?: string;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<P, Q, B> {
  readonly params: Parsed<P>;
  readonly query: Parsed<Q>;
  readonly body: Parsed<B>;
}

/**
 * One route: its method, path, access, the zod schemas its input is validated with, and its
 * replies — the same declaration mounts it on Hono and describes it in the OpenAPI document.
 */
export interface RouteSpec<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
> {
  readonly method: HttpMethod;
  /** Hono syntax: `/api/v1/incidents/:id`. */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly access: RouteAccess;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /**
   * The handler reads and validates the body itself (`body` still documents it): inbound webhooks
   * authenticate first, and PagerDuty's route answers in PagerDuty's own error shape.
   */
  readonly rawBody?: boolean;
  /** A larger body limit than the app's default (agent pushes). */
  readonly maxBodyBytes?: number;
  readonly handle: (input: RouteInput<P, Q, B>, c: Context<ApiEnv>) => Promise<Response> | Response;
}

/** A route with its types erased, for the registry. */
export interface AnyRoute {
  readonly method: HttpMethod;
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly access: RouteAccess;
  readonly params?: z.ZodType | undefined;
  readonly query?: z.ZodType | undefined;
  readonly body?: z.ZodType | undefined;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  readonly rawBody?: boolean;
  readonly maxBodyBytes?: number;
  readonly handle: (
    input: { readonly params: unknown; readonly query: unknown; readonly body: unknown },
    c: Context<ApiEnv>,
  ) => Promise<Response> | Response;
}

export function defineRoute<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): AnyRoute {
  return spec as unknown as AnyRoute;
}

const parse = (part: 'params' | 'query' | 'body', schema: z.ZodType | undefined, value: unknown): unknown => {
  if (schema === undefined) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw invalidRequest(part, result.error);
  return result.data;
};

/** For `rawBody` routes that authenticate before they validate: the body read and checked, or a 400. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  return parse('body', schema, await readJson(c)) as z.output<S>;
}

/** The body as JSON; an empty body reads as `{}` so that optional-only bodies may be left out. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ApiError({
      status: 400,
      code: 'INVALID_JSON',
      message: `the request body is not JSON (${cause instanceof Error ? cause.message : String(cause)}); send application/json`,
    });
  }
}

const tooLarge = (maxBytes: number) => (): never => {
  throw new ApiError({
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: `the request body is larger than ${maxBytes} bytes; send smaller batches`,
    details: { maxBytes },
  });
};

/** Mounts each route: body limit, then the token check for its role, then validation, then the handler. */
export function mountRoutes(
  app: Hono<ApiEnv>,
  routes: readonly AnyRoute[],
  options: { tokens: TokenVerifier; maxBodyBytes: number },
): void {
  for (const route of routes) {
    const middleware: MiddlewareHandler<ApiEnv>[] = [];
    if (route.method !== 'get') {
      const maxBytes = route.maxBodyBytes ?? options.maxBodyBytes;
      middleware.push(bodyLimit({ maxSize: maxBytes, onError: tooLarge(maxBytes) }));
    }
    if (route.access !== 'public' && route.access !== 'integration')
      middleware.push(requireToken(options.tokens, route.access));
    app.on([route.method.toUpperCase()], [route.path], ...middleware, async (c) => {
      const params = parse('params', route.params, c.req.param());
      const query = parse('query', route.query, c.req.query());
      const body =
        route.rawBody === true || route.body === undefined
          ? undefined
          : parse('body', route.body, await readJson(c));
      return route.handle({ params, query, body }, c);
    });
  }
}
