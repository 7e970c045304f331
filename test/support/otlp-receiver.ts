import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { pino } from 'pino';
import { TokenService } from '../../src/app/token-service.js';
import { createErrorHandler } from '../../src/api/api-error.js';
import type { AppEventReceiver } from '../../src/api/integrations/inbound-ports.js';
import { otlpTracesRoute } from '../../src/api/integrations/otlp/otlp-traces-route.js';
import { mountRoutes, type ApiEnv } from '../../src/api/route-registry.js';
import type { AppEvent } from '../../src/core/app-signal.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { FakeClock } from './fake-clock.js';
import { CountingIds } from './sample-builder.js';

/** An AppEventReceiver that keeps what it was handed. */
export class RecordingEventReceiver implements AppEventReceiver {
  readonly batches: { readonly events: readonly AppEvent[]; readonly receivedAt: number }[] = [];

  get events(): AppEvent[] {
    return this.batches.flatMap((b) => b.events);
  }

  ingestEvents(events: readonly AppEvent[], receivedAt: number): Promise<void> {
    this.batches.push({ events, receivedAt });
    return Promise.resolve();
  }
}

/**
 * The `/v1/traces` route mounted as the API mounts it (token check, body limit, the one onError),
 * with real tokens on the memory store and a recording receiver.
 */
export async function createOtlpReceiver(options: { maxBodyBytes?: number } = {}) {
  const store = new MemoryStore();
  // After the recorded export (test/fixtures/integrations/otlp-node-sdk-deadlock.json, 18:45):
  // spans over an hour ahead of the server's clock are refused.
  const clock = new FakeClock(Date.parse('2026-11-30T19:00:00Z'));
  const tokens = new TokenService({ store, clock, ids: new CountingIds() });
  const received = new RecordingEventReceiver();
  const app = new Hono<ApiEnv>();
  app.onError(createErrorHandler(pino({ level: 'silent' })));
  /** The content type and encoding of each request, to check what an exporter really sent. */
  const seen: { contentType: string | undefined; contentEncoding: string | undefined }[] = [];
  app.use('*', async (c, next) => {
    seen.push({
      contentType: c.req.header('content-type'),
      contentEncoding: c.req.header('content-encoding'),
    });
    await next();
  });
  const route = otlpTracesRoute({
    events: received,
    now: () => clock.now(),
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
  });
  mountRoutes(app, [route], { tokens, maxBodyBytes: 1024 * 1024 });
  const ingest = (await tokens.create({ name: 'otel', role: 'ingest' })).secret;
  const viewer = (await tokens.create({ name: 'vic', role: 'viewer' })).secret;
  return { app, clock, received, seen, secrets: { ingest, viewer } };
}

/** The same app listening on a local port, for real exporters. */
export async function listenOtlpReceiver(
  app: Hono<ApiEnv>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const listener = getRequestListener(app.fetch);
  const server: Server = createServer((req, res) => void listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
