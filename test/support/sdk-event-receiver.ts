import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { WireBatch, WireEvent } from '../../src/sdk/wire-event.js';

/** How the receiver answers: normally (202), with a status, or never (the request hangs). */
export type ReceiverMode =
  | { readonly kind: 'accept' }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'hang' };

/** A real local HTTP server standing in for Hindsight's `POST /api/v1/events`: it records what the SDK sends. */
export interface EventReceiver {
  /** Base URL (give it to createHindsight as `endpoint`). */
  readonly url: string;
  readonly batches: WireBatch[];
  readonly requests: {
    readonly path: string;
    readonly headers: IncomingHttpHeaders;
    readonly bytes: number;
  }[];
  mode: ReceiverMode;
  events(): WireEvent[];
  /** Resolves once `predicate` holds over the received events (polls; rejects after `timeoutMs`). */
  waitFor(predicate: (events: WireEvent[]) => boolean, timeoutMs?: number): Promise<WireEvent[]>;
  close(): Promise<void>;
}

export async function startEventReceiver(port = 0): Promise<EventReceiver> {
  const batches: WireBatch[] = [];
  const requests: EventReceiver['requests'] = [];
  const hanging = new Set<() => void>();
  const receiver: EventReceiver = {
    url: '',
    batches,
    requests,
    mode: { kind: 'accept' },
    events: () => batches.flatMap((b) => b.events),
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      while (!predicate(receiver.events())) {
        if (performance.now() > deadline)
          throw new Error(
            `the receiver did not get the expected events within ${timeoutMs} ms (got ${receiver.events().length})`,
          );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return receiver.events();
    },
    async close() {
      for (const release of hanging) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const mode = receiver.mode;
      if (mode.kind === 'hang') {
        hanging.add(() => res.destroy());
        return;
      }
      const raw = Buffer.concat(chunks);
      requests.push({ path: req.url ?? '', headers: req.headers, bytes: raw.length });
      if (mode.kind === 'status') {
        res
          .writeHead(mode.status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 'TEST_FAILURE', message: `test receiver answers ${mode.status}` }));
        return;
      }
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const batch = JSON.parse(text) as WireBatch;
      batches.push(batch);
      res
        .writeHead(202, { 'content-type': 'application/json' })
        .end(JSON.stringify({ accepted: batch.events.length, rejected: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  (receiver as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
