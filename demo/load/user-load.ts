import { Agent, request } from 'node:http';
import type { Clock } from '../../src/core/ports.js';
import { sleep } from '../../src/platform/abortable-sleep.js';

/** One request a simulated user made, as the user saw it. */
export interface UserRequest {
  readonly at: number;
  readonly user: string;
  /** `POST /checkout`: method and path template. */
  readonly route: string;
  /** The HTTP status, or 0 when the request did not get an answer. */
  readonly status: number;
}

export interface LoadOptions {
  /** The shop's base URL. */
  readonly baseUrl: string;
  readonly users: number;
  /** The share of users who go on to check out (the others browse and fill carts). */
  readonly buyerShare: number;
  /** Products carts are filled from. */
  readonly products: readonly number[];
  /** Pause between a user's requests, on average (jittered ±50%). */
  readonly thinkMs: number;
  /** Header carrying the user's id (the shop's session). */
  readonly userHeader: string;
  readonly clock: Clock;
  readonly signal: AbortSignal;
}

/** What the users saw, in a window. */
export interface LoadReport {
  readonly requests: number;
  readonly failed: number;
  readonly checkouts: number;
  readonly failedCheckouts: number;
  /** Users with a request in the window. */
  readonly activeUsers: number;
  /** Users with a failed request (5xx or no answer) in the window. */
  readonly affectedUsers: number;
}

const MAX_KEPT = 200_000;

/**
 * Simulated users of the shop over keep-alive HTTP, each with a stable id sent as its session.
 * Buyers (the first `buyerShare` of every ten users) open a product, fill a cart and check out,
 * again and again; the others browse and sometimes add to a cart. What each request answered is
 * kept for `report()`.
 */
export class UserLoad {
  readonly #options: LoadOptions;
  readonly #agent: Agent;
  readonly #seen: UserRequest[] = [];
  #done: Promise<void> | null = null;

  constructor(options: LoadOptions) {
    this.#options = options;
    this.#agent = new Agent({ keepAlive: true, maxSockets: Math.min(64, options.users) });
  }

  /** Starts every user; resolves once they have all stopped (the signal aborted). */
  start(): Promise<void> {
    this.#done ??= Promise.all(Array.from({ length: this.#options.users }, (_, i) => this.#user(i))).then(
      () => {
        this.#agent.destroy();
      },
    );
    return this.#done;
  }

  /** What the users saw since `since` (epoch ms). */
  report(since = 0): LoadReport {
    const active = new Set<string>();
    const affected = new Set<string>();
    let requests = 0;
    let failed = 0;
    let checkouts = 0;
    let failedCheckouts = 0;
    for (let i = this.#seen.length - 1; i >= 0; i--) {
      const r = this.#seen[i];
      if (r === undefined || r.at < since) break;
      requests++;
      active.add(r.user);
      const bad = r.status === 0 || r.status >= 500;
      if (bad) {
        failed++;
        affected.add(r.user);
      }
      if (r.route === 'POST /checkout') {
        checkouts++;
        if (bad) failedCheckouts++;
      }
    }
    return {
      requests,
      failed,
      checkouts,
      failedCheckouts,
      activeUsers: active.size,
      affectedUsers: affected.size,
    };
  }

  #stopped(): boolean {
    return this.#options.signal.aborted;
  }

  async #user(index: number): Promise<void> {
    const { signal, thinkMs, products } = this.#options;
    const user = `user-${String(index + 1).padStart(4, '0')}`;
    const buyer = index % 10 < Math.round(this.#options.buyerShare * 10);
    const pick = (): number => products[Math.floor(Math.random() * products.length)] ?? 1;
    const think = (): Promise<void> => sleep(thinkMs * (0.5 + Math.random()), signal);
    // Users arrive over the first think time rather than all at once.
    await sleep(Math.random() * thinkMs, signal);
    while (!this.#stopped()) {
      if (buyer) {
        // A buyer knows what they want: a product page, into the cart, checkout.
        const product = pick();
        await this.#send(user, 'GET', `/products/${product}`, 'GET /products/:id');
        await this.#send(user, 'POST', '/cart/items', 'POST /cart/items', { productId: product, qty: 1 });
        await this.#send(user, 'POST', '/checkout', 'POST /checkout');
        await sleep(thinkMs * (0.25 + Math.random() / 2), signal); // and soon shops again
        continue;
      }
      await this.#send(user, 'GET', '/products', 'GET /products');
      await think();
      await this.#send(user, 'GET', `/products/${pick()}`, 'GET /products/:id');
      await think();
      if (Math.random() < 0.3) {
        await this.#send(user, 'POST', '/cart/items', 'POST /cart/items', { productId: pick(), qty: 1 });
        await think();
      }
    }
  }

  async #send(user: string, method: string, path: string, route: string, body?: unknown): Promise<void> {
    if (this.#options.signal.aborted) return;
    const status = await new Promise<number>((resolve) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${this.#options.baseUrl}${path}`,
        {
          method,
          agent: this.#agent,
          timeout: 10_000,
          headers: {
            [this.#options.userHeader]: user,
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            resolve(res.statusCode ?? 0);
          });
          res.on('error', () => {
            resolve(0);
          });
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => {
        resolve(0);
      });
      req.end(payload);
    });
    if (this.#stopped()) return; // torn down mid-request: not what a user saw
    if (this.#seen.length >= MAX_KEPT) this.#seen.splice(0, MAX_KEPT / 2);
    this.#seen.push({ at: this.#options.clock.now(), user, route, status });
  }
}
