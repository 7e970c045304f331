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
export type ExpressMiddleware = (req: ExpressRequestLike, res: ExpressResponseLike, next: ExpressNext) => void;
export type ExpressErrorMiddleware = (error: unknown, req: ExpressRequestLike, res: ExpressResponseLike, next: ExpressNext) => void;

/** `/api` + `/orders/:id`; `(unmatched)` when no route matched (a 404). */
export const expressRoute = (req: ExpressRequestLike): string => {
  const route = req.route as { path?: unknown } | null | undefined;
  const raw = route?.path;
  if (raw === undefined) return UNMATCHED_ROUTE;
  // Express also accepts a RegExp or an array of paths.
  const path = typeof raw === 'string' ? raw : raw instanceof RegExp ? raw.source : JSON.stringify(raw);
  const base = req.baseUrl ?? '';
  return base !== '' && path === '/' ? base : `${base}${path}`;
};

/** `app.use(hindsight.express())` first: times each request and runs the rest inside its scope. */
export const expressMiddleware = (recorder: RequestRecorder, bug: (error: unknown) => void): ExpressMiddleware =>
  function hindsightExpress(req, res, next) {
    let open: OpenRequest;
    try {
      open = recorder.open(req.method, () => expressRoute(req));
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
