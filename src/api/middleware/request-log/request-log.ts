import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '../../../platform/logger.js';
import type { ServerMetrics } from '../../server-metrics.js';

/** Probes and scrapes come every few seconds: logged at debug unless they fail. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** Monotonic milliseconds: request timing must not jump with the wall clock. */
const monotonicMs = (): number => performance.now();

/**
 * One JSON log line per request (method, path, status, ms — never a header, so never the
 * Authorization secret, and never the query string) and the request metrics, labelled by route
 * pattern (`/api/v1/incidents/:id`), not by path, to keep label values bounded.
 */
export function requestLog(logger: Logger, metrics: ServerMetrics): MiddlewareHandler {
  return async (c, next) => {
    const started = monotonicMs();
    try {
      await next();
    } finally {
      const ms = monotonicMs() - started;
      const status = c.res.status;
      const route = routePath(c, -1);
      const matched = route === '*' || route === '/*' ? 'unmatched' : route;
      metrics.observeRequest({ method: c.req.method, route: matched, status, seconds: ms / 1000 });
      const line = { method: c.req.method, path: c.req.path, status, ms: Math.round(ms * 10) / 10 };
      if (status >= 500) logger.warn(line, 'request');
      else if (QUIET_ROUTES.has(matched) && status < 400) logger.debug(line, 'request');
      else logger.info(line, 'request');
    }
  };
}
