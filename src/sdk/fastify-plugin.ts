import type { OpenRequest, RequestRecorder } from './request-recorder.js';
import { errorClassOf, UNMATCHED_ROUTE } from './request-scope.js';

/** The parts of Fastify the SDK uses (structural: no dependency on fastify). */
export interface FastifyRequestLike {
  readonly method: string;
  /** Fastify 5: `url` is the route's template (`/orders/:id`), undefined when no route matched. */
  readonly routeOptions?: { readonly url?: string | undefined };
}

export interface FastifyReplyLike {
  readonly statusCode: number;
}

type Done = (error?: Error) => void;

export interface FastifyInstanceLike {
  addHook(
    name: 'onRequest' | 'onResponse',
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: Done) => void,
  ): unknown;
  addHook(
    name: 'onError',
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike, error: Error, done: Done) => void,
  ): unknown;
}

export type FastifyPlugin = ((instance: FastifyInstanceLike, options: unknown, done: Done) => void) &
  Record<symbol, unknown>;

/**
 * `app.register(hindsight.fastify())`: onRequest opens the request's scope (the route's hooks and
 * handler run inside it), onError names the error class, onResponse records the request. Marked with
 * fastify-plugin's `skip-override` so the hooks apply to the whole app, not an encapsulated child.
 */
export const fastifyPlugin = (recorder: RequestRecorder, bug: (error: unknown) => void): FastifyPlugin => {
  const open = new WeakMap<FastifyRequestLike, OpenRequest>();
  const plugin = (instance: FastifyInstanceLike, _options: unknown, done: Done): void => {
    instance.addHook('onRequest', (request, _reply, next) => {
      let opened: OpenRequest;
      try {
        opened = recorder.open(request.method, () => request.routeOptions?.url ?? UNMATCHED_ROUTE);
        open.set(request, opened);
      } catch (error) {
        bug(error);
        next();
        return;
      }
      recorder.storage.run(opened.scope, next);
    });
    instance.addHook('onError', (request, _reply, error, next) => {
      const opened = open.get(request);
      if (opened !== undefined) opened.scope.errorClass = errorClassOf(error);
      next();
    });
    instance.addHook('onResponse', (request, reply, next) => {
      const opened = open.get(request);
      if (opened !== undefined) recorder.close(opened, reply.statusCode);
      next();
    });
    done();
  };
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'hindsight',
  });
};
