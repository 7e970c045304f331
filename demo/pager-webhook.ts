import { createServer, type Server } from 'node:http';
import type { Clock } from '../src/core/ports.js';
import { freePort } from '../src/platform/local-postgres.js';
import type { WebhookBody } from '../src/notify/webhook-notifier.js';
import { verifyWebhookSignature } from '../src/notify/webhook-signature.js';

/** A page as the on-call's pager received it, its signature checked. */
export interface ReceivedPage {
  readonly body: WebhookBody;
  readonly signed: boolean;
}

/**
 * The demo's stand-in for a pager app: a local HTTP server taking Hindsight's signed webhook
 * (channel type `webhook`), checking the signature as a real receiver must, and handing each page
 * to `onPage` for the narration.
 */
export class PagerWebhook {
  readonly #server: Server;
  readonly #secret: string;
  readonly #clock: Clock;
  readonly pages: ReceivedPage[] = [];
  url = '';

  constructor(options: { secret: string; clock: Clock; onPage: (page: ReceivedPage) => void }) {
    this.#secret = options.secret;
    this.#clock = options.clock;
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const check = verifyWebhookSignature({
          secret: this.#secret,
          body: raw,
          timestamp: req.headers['x-hindsight-timestamp'] as string | undefined,
          signature: req.headers['x-hindsight-signature'] as string | undefined,
          now: this.#clock.now(),
        });
        let body: WebhookBody;
        try {
          body = JSON.parse(raw) as WebhookBody;
        } catch {
          res.writeHead(400).end();
          return;
        }
        res.writeHead(check.ok ? 200 : 401).end();
        const page = { body, signed: check.ok };
        this.pages.push(page);
        options.onPage(page);
      });
    });
  }

  async start(): Promise<string> {
    const port = await freePort();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${port}/page`;
    return this.url;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => {
        resolve();
      });
      this.#server.closeAllConnections();
    });
  }
}
