import type { OpenRequest, RequestRecorder } from './request-recorder.js';
import { UNMATCHED_ROUTE } from './request-scope.js';

/** The parts of Hono's context the SDK reads (structural: no dependency on hono). */
export interface HonoContextLike {
  readonly req: {
    readonly method: string;
    /** The path the running handler was registered with (`/orders/:id`). */
    readonly routePath: string;
  };
  readonly res: { readonly status: number };
  /** Set by Hono when a handler threw and `onError` answered. */
  readonly error?: unknown;
}

export type HonoMiddleware = (c: HonoContextLike, next: () => Promise<void>) => Promise<void>;

/**
 * `app.use(hindsight.hono())`: the handlers run inside the request's scope; after `await next()` the
 * route template is the matched handler's `routePath` (still this middleware's own path when nothing
 * matched: `(unmatched)`).
 */
export const honoMiddleware = (recorder: RequestRecorder, bug: (error: unknown) => void): HonoMiddleware =>
  async function hindsightHono(c, next) {
    let open: OpenRequest;
    try {
      const own = c.req.routePath;
      open = recorder.open(c.req.method, () => {
        const path = c.req.routePath;
        return path === own ? UNMATCHED_ROUTE : path;
      });
    } catch (error) {
      bug(error);
      await next();
      return;
    }
    let thrown: { error: unknown } | null = null;
    try {
      await recorder.storage.run(open.scope, next);
    } catch (error) {
      thrown = { error };
      throw error;
    } finally {
      if (thrown === null) recorder.close(open, statusOf(c, bug), c.error ?? undefined);
      else recorder.close(open, 500, thrown.error);
    }
  };

const statusOf = (c: HonoContextLike, bug: (error: unknown) => void): number => {
  try {
    return c.res.status;
  } catch (error) {
    bug(error);
    return 500;
  }
};
