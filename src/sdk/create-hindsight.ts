import { NAME_PATTERN } from '../core/catalog.js';
import type { SqlTags } from '../core/app-signal.js';
import { CallSiteLocator } from './call-site.js';
import { EventSender } from './event-sender.js';
import type { SenderStats } from './event-sender.js';
import { expressErrorMiddleware, expressMiddleware } from './express-middleware.js';
import type { ExpressErrorMiddleware, ExpressMiddleware } from './express-middleware.js';
import { fastifyPlugin } from './fastify-plugin.js';
import type { FastifyPlugin } from './fastify-plugin.js';
import { honoMiddleware } from './hono-middleware.js';
import type { HonoMiddleware } from './hono-middleware.js';
import { nodeHttpHandler } from './node-http-handler.js';
import type { HttpHandlerOptions, HttpRequestLike, HttpResponseLike } from './node-http-handler.js';
import { instrumentPgModule } from './pg-instrumentation.js';
import type { PgModuleLike } from './pg-instrumentation.js';
import { RequestRecorder } from './request-recorder.js';
import type { Scope } from './request-scope.js';
import { HindsightSdkError, warnOnConsole } from './sdk-problem.js';
import { systemNow } from './sdk-clock.js';
import { createUserHasher } from './user-hash.js';
import { EVENTS_PATH } from './wire-event.js';

export interface HindsightOptions {
  /** The app's service name (`shop`): events, tags and incidents are grouped by it. */
  readonly service: string;
  /** The app's version now (`v2`); `setRelease` changes it. */
  readonly release?: string | null;
  /** The Hindsight server (`http://hindsight:8080`); events go to its `/api/v1/events`. */
  readonly endpoint: string;
  /** A token with role `ingest` (or responder/admin). */
  readonly token: string;
  /** Call sites are shown relative to this folder (default `process.cwd()`). */
  readonly appRoot?: string;
  /** A batch leaves at least this often while events wait (1000 ms). */
  readonly flushIntervalMs?: number;
  /** Events per request to the server (500; at most 5,000). */
  readonly maxBatch?: number;
  /** Events kept while the server is unreachable; beyond it the oldest are dropped and counted (10,000). */
  readonly maxBuffer?: number;
  /** The key user ids are hashed with; by default derived from `service` (replicas agree). */
  readonly userSalt?: string;
  /** Where problems go (default: one `console.warn` line per kind of problem, once per episode). */
  readonly onError?: (problem: HindsightSdkError) => void;
  /** A request to the server gives up after this long (10 s). */
  readonly requestTimeoutMs?: number;
  /** Stack frames looked at to find a statement's call site (24). */
  readonly stackDepth?: number;
  /** The wall clock, epoch ms (tests). */
  readonly now?: () => number;
}

export interface Hindsight {
  /** Express middleware: `app.use(hindsight.express())` before the routes. */
  express(): ExpressMiddleware;
  /** Express error middleware, after the routes: names the error class of failed requests. */
  expressErrors(): ExpressErrorMiddleware;
  /** Fastify plugin: `await app.register(hindsight.fastify())`. */
  fastify(): FastifyPlugin;
  /** Hono middleware: `app.use(hindsight.hono())`. */
  hono(): HonoMiddleware;
  /** Wraps a `node:http` request handler. */
  http<Req extends HttpRequestLike, Res extends HttpResponseLike>(
    handler: (req: Req, res: Res) => unknown,
    options?: HttpHandlerOptions<Req>,
  ): (req: Req, res: Res) => unknown;
  /** Patches `pg` (`import pg from 'pg'`): Client and Pool statements get tags; failures are recorded. */
  instrumentPg(pg: PgModuleLike): void;
  /** The current request's user (hashed here; only the hash leaves the process). Outside a request: ignored. */
  identify(userId: string | number | null): void;
  /** Runs `fn` as job `name`: its failed statements become `query_failure` events naming the job. */
  job<T>(name: string, fn: () => T): T;
  setRelease(release: string | null): void;
  /** Sends what is buffered now. Never rejects. */
  flush(): Promise<void>;
  /** Flushes, stops sending and undoes the pg patch. Never rejects. */
  close(): Promise<void>;
  stats(): SenderStats;
}

const positive = (name: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new HindsightSdkError(
      'SDK_INTERNAL',
      `createHindsight: ${name} must be a positive number (got ${String(value)})`,
    );
  }
  return value;
};

const eventsUrl = (endpoint: string): string => {
  let url: URL | null = null;
  try {
    url = new URL(endpoint);
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(
      `createHindsight: endpoint must be the Hindsight server's URL, e.g. http://hindsight:8080 (got ${JSON.stringify(endpoint)})`,
    );
  }
  const base = url.href.replace(/\/+$/, '');
  return base.endsWith(EVENTS_PATH) ? base : `${base}${EVENTS_PATH}`;
};

/**
 * The SDK: middleware for Express, Fastify, Hono and node:http, `pg` instrumentation, and a sender
 * that batches events to `POST /api/v1/events`. Options are checked here (a mistake throws, at
 * startup); after that nothing the SDK does throws into the app: problems go to `onError`.
 */
export const createHindsight = (options: HindsightOptions): Hindsight => {
  if (typeof options.service !== 'string' || !NAME_PATTERN.test(options.service)) {
    throw new TypeError(
      `createHindsight: service must name this app in 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit, e.g. "shop" (got ${JSON.stringify(options.service)})`,
    );
  }
  if (typeof options.token !== 'string' || options.token === '') {
    throw new TypeError(
      'createHindsight: token is required: a Hindsight token with role ingest (POST /api/v1/tokens creates one)',
    );
  }
  const service = options.service;
  const url = eventsUrl(options.endpoint);
  const now = options.now ?? systemNow;
  const onError = options.onError ?? warnOnConsole;
  let release = options.release ?? null;

  const report = (problem: HindsightSdkError): void => {
    try {
      onError(problem);
    } catch {
      // The app's onError threw: swallowed, never rethrown into the app.
    }
  };
  let bugReported = false;
  const bug = (error: unknown): void => {
    if (bugReported) return;
    bugReported = true;
    report(
      new HindsightSdkError(
        'SDK_INTERNAL',
        `a bug in hindsight/sdk was caught (the app went on): ${String(error)}`,
        { cause: error },
      ),
    );
  };

  const sender = new EventSender({
    url,
    token: options.token,
    service,
    // The server takes at most 5,000 events per batch.
    maxBatch: Math.min(5000, Math.floor(positive('maxBatch', options.maxBatch, 500))),
    maxBuffer: Math.floor(positive('maxBuffer', options.maxBuffer, 10_000)),
    flushIntervalMs: positive('flushIntervalMs', options.flushIntervalMs, 1000),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 10_000),
    report,
    now,
  });
  const recorder = new RequestRecorder({
    emit: (event) => {
      sender.push(event);
    },
    release: () => release,
    now,
    bug,
  });
  const locator = new CallSiteLocator(
    options.appRoot ?? process.cwd(),
    Math.floor(positive('stackDepth', options.stackDepth, 24)),
  );
  const hashUser = createUserHasher(service, options.userSalt);
  const unpatch: (() => void)[] = [];

  const tags = (scope: Scope | undefined, callsite: string | null): SqlTags => ({
    service,
    release: release ?? '',
    callsite: callsite ?? '',
    route: scope?.kind === 'request' ? `${scope.method} ${scope.route()}` : '',
    job: scope?.kind === 'job' ? scope.name : '',
  });

  return {
    express: () => expressMiddleware(recorder, bug),
    expressErrors: () => expressErrorMiddleware(recorder),
    fastify: () => fastifyPlugin(recorder, bug),
    hono: () => honoMiddleware(recorder, bug),
    http: (handler, httpOptions) => nodeHttpHandler(recorder, bug, handler, httpOptions),
    instrumentPg(pg) {
      try {
        unpatch.push(
          instrumentPgModule(pg, {
            locator,
            scope: () => recorder.storage.getStore(),
            tags,
            failed: (scope, failure, errorClass) => {
              recorder.sqlFailed(scope, failure, errorClass);
            },
            bug,
          }),
        );
      } catch (error) {
        bug(error);
      }
    },
    identify(userId) {
      try {
        const scope = recorder.storage.getStore();
        if (scope?.kind === 'request') scope.user = userId === null ? null : hashUser(String(userId));
      } catch (error) {
        bug(error);
      }
    },
    job: (name, fn) => recorder.storage.run({ kind: 'job', name }, fn),
    setRelease(next) {
      release = next;
    },
    flush: () => sender.flush(),
    async close() {
      for (const undo of unpatch.splice(0)) undo();
      await sender.close();
    },
    stats: () => sender.stats(),
  };
};
