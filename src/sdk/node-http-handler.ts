import type { OpenRequest, RequestRecorder } from './request-recorder.js';
import { errorClassOf } from './request-scope.js';
import { routeFromPath } from './route-template.js';

/** The parts of node:http's request and response the SDK reads. */
export interface HttpRequestLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
}

export interface HttpResponseLike {
  readonly statusCode: number;
  once(event: 'close', listener: () => void): unknown;
}

export interface HttpHandlerOptions<Req> {
  /** The route template of a request; by default its path with id-like segments as `:id`. */
  readonly routeOf?: (req: Req) => string;
}

/**
 * `http.createServer(hindsight.http(handler))`: times each request, runs the handler inside its
 * scope and records it when the response closes. The handler's return value (a promise too) is
 * handed back unchanged, and a throw or rejection reaches the caller as before.
 */
export const nodeHttpHandler = <Req extends HttpRequestLike, Res extends HttpResponseLike>(
  recorder: RequestRecorder,
  bug: (error: unknown) => void,
  handler: (req: Req, res: Res) => unknown,
  options: HttpHandlerOptions<Req> = {},
): ((req: Req, res: Res) => unknown) => {
  const routeOf = options.routeOf ?? ((req: Req) => routeFromPath(req.url));
  return function hindsightHttp(req, res) {
    let open: OpenRequest;
    try {
      let route: string | undefined;
      open = recorder.open(req.method, () => (route ??= routeOf(req)));
      res.once('close', () => {
        recorder.close(open, res.statusCode);
      });
    } catch (error) {
      bug(error);
      return handler(req, res);
    }
    const scope = open.scope;
    return recorder.storage.run(scope, () => {
      let result: unknown;
      try {
        result = handler(req, res);
      } catch (error) {
        scope.errorClass = errorClassOf(error);
        throw error;
      }
      if (
        typeof result !== 'object' ||
        result === null ||
        typeof (result as { then?: unknown }).then !== 'function'
      )
        return result;
      // The caller gets a promise that rejects the same way (an unhandled rejection stays unhandled).
      return (result as Promise<unknown>).then(undefined, (error: unknown) => {
        scope.errorClass = errorClassOf(error);
        throw error;
      });
    });
  };
};
