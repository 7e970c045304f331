import type { OpenRequest, RequestRecorder } from './request-recorder.js';
import { errorClassOf, UNMATCHED_ROUTE } from './request-scope.js';

/** The parts of Express's request and response the SDK reads (structural: no dependency on express). */
export interface ExpressRequestLike {
  readonly method: string;
  /** The mount path of the router that matched (`/api`). */
  readonly baseUrl?: string;
  /** The matched route (`{ path: '/orders/:id' }`), set once a route matched. */
  readonly route?: unknown;
}

export interface ExpressResponseLike {
  readonly statusCode: number;
  once(event: 'close', listener: () => void): unknown;
}

export type ExpressNext = (error?: unknown) => void;
export type ExpressMiddleware = (
  req: ExpressRequestLike,
  res: ExpressResponseLike,
  next: ExpressNext,
) => void;
export type ExpressErrorMiddleware = (
  error: unknown,
  req: ExpressRequestLike,
  res: ExpressResponseLike,
  next: ExpressNext,
) => void;

/** `/api` + `/orders/:id`; null when no route matched. */
export const expressRoute = (baseUrl: string | undefined, route: unknown): string | null => {
  const raw = (route as { path?: unknown } | null | undefined)?.path;
  if (raw === undefined) return null;
  // Express also accepts a RegExp or an array of paths.
  const path = typeof raw === 'string' ? raw : raw instanceof RegExp ? raw.source : JSON.stringify(raw);
  const base = baseUrl ?? '';
  return base !== '' && path === '/' ? base : `${base}${path}`;
};

/**
 * The route template, taken when Express sets `req.route` (the router's mount is in `req.baseUrl`
 * then; Express puts baseUrl back when an error leaves the router, so reading both at the end would
 * lose `/api`). An accessor on this request only: reads and writes of `req.route` work as before.
 */
const watchRoute = (req: ExpressRequestLike): (() => string) => {
  let route: unknown = req.route;
  let template = expressRoute(req.baseUrl, route);
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value;
      template = expressRoute(req.baseUrl, value) ?? template;
    },
  });
  return () => template ?? UNMATCHED_ROUTE;
};

/** `app.use(hindsight.express())` first: times each request and runs the rest inside its scope. */
export const expressMiddleware = (
  recorder: RequestRecorder,
  bug: (error: unknown) => void,
): ExpressMiddleware =>
  function hindsightExpress(req, res, next) {
    let open: OpenRequest;
    try {
      open = recorder.open(req.method, watchRoute(req));
      // 'close' comes after the response is complete, or when the client went away.
      res.once('close', () => {
        recorder.close(open, res.statusCode);
      });
    } catch (error) {
      bug(error);
      next();
      return;
    }
    recorder.storage.run(open.scope, next);
  };

/** `app.use(hindsight.expressErrors())` after the routes: names the error class of a failed request. */
export const expressErrorMiddleware = (recorder: RequestRecorder): ExpressErrorMiddleware =>
  function hindsightExpressErrors(error, _req, _res, next) {
    const scope = recorder.storage.getStore();
    if (scope?.kind === 'request') scope.errorClass = errorClassOf(error);
    next(error);
  };
