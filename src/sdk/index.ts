/**
 * `hindsight/sdk`: what a Node web app adds to report its requests and SQL failures to Hindsight.
 *
 *     import { createHindsight } from 'hindsight/sdk';
 *     const hindsight = createHindsight({ service: 'shop', endpoint: 'http://hindsight:8080', token: process.env.HINDSIGHT_TOKEN! });
 *     hindsight.instrumentPg(pg);
 *     app.use(hindsight.express());
 */
export { createHindsight } from './create-hindsight.js';
export type { Hindsight, HindsightOptions } from './create-hindsight.js';
export type { SenderStats as HindsightStats } from './event-sender.js';
export type {
  ExpressErrorMiddleware,
  ExpressMiddleware,
  ExpressRequestLike,
  ExpressResponseLike,
} from './express-middleware.js';
export type {
  FastifyInstanceLike,
  FastifyPlugin,
  FastifyReplyLike,
  FastifyRequestLike,
} from './fastify-plugin.js';
export type { HonoContextLike, HonoMiddleware } from './hono-middleware.js';
export type { HttpHandlerOptions, HttpRequestLike, HttpResponseLike } from './node-http-handler.js';
export type { PgModuleLike } from './pg-instrumentation.js';
export { HindsightSdkError } from './sdk-problem.js';
export type { SdkProblemCode } from './sdk-problem.js';
export { routeFromPath } from './route-template.js';
export type { WireBatch, WireEvent } from './wire-event.js';
