import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve as serveHttp } from '@hono/node-server';
import pg from 'pg';
import type { Clock } from '../src/core/ports.js';
import { freePort, LOCAL_PASSWORD, LOCAL_SUPERUSER, LocalPostgres } from '../src/platform/local-postgres.js';
import { createHindsight } from '../src/sdk/index.js';
import { buildDemoConfig } from './demo-config.js';
import type { DemoNarrator } from './demo-narrator.js';
import { HindsightClient } from './hindsight-client.js';
import { UserLoad } from './load/user-load.js';
import { PagerWebhook, type ReceivedPage } from './pager-webhook.js';
import { ServeChild } from './serve-child.js';
import { createShop, USER_HEADER, type Shop } from './shop/shop-app.js';
import { runRestockJob } from './shop/restock-job.js';
import { FEATURED_PRODUCTS, SHOP_SCHEMA } from './shop/shop-schema.js';

/** The shop database's logging, as the agent needs it: a prefix it can read, lock waits and deadlocks reported. */
const LOG_PREFIX = '%m [%p] %q%u@%d ';
const DEADLOCK_TIMEOUT_MS = 100;
/** The package's root (above dist/ when built): call sites are shown relative to it (demo/shop/checkout.ts:88). */
const HERE = dirname(fileURLToPath(import.meta.url));
const APP_ROOT = basename(dirname(HERE)) === 'dist' ? join(HERE, '..', '..') : join(HERE, '..');

export interface StackOptions {
  readonly users: number;
  readonly escalateAfterMs: number;
  readonly ruleWindowMs: number;
  readonly narrator: DemoNarrator;
  readonly clock: Clock;
  /** A line serve printed (its console channel). */
  readonly onConsoleLine: (line: string) => void;
  readonly onPage: (page: ReceivedPage) => void;
  /** Aborted on Ctrl-C: the start gives up between steps. */
  readonly signal: AbortSignal;
}

/** What the story drives once everything is up. */
export interface RunningDemo {
  readonly serveUrl: string;
  readonly shopUrl: string;
  readonly configFile: string;
  /** As the admin. */
  readonly client: HindsightClient;
  /** alice and dora post notes with their own tokens. */
  readonly tokens: { readonly alice: string; readonly dora: string };
  readonly shop: Shop;
  readonly load: UserLoad;
}

interface Closer {
  readonly what: string;
  readonly close: () => Promise<unknown>;
}

/**
 * Everything the demo runs, in one temporary directory: the shop's PostgreSQL (embedded, logging
 * for the agent), `hindsight serve` with its own embedded store and a generated configuration, the
 * pager webhook, the shop on the SDK, its restock job and the simulated users. `stop()` takes it
 * all down in reverse order and removes the directory; it is safe to call at any point of `start`.
 */
export class DemoStack {
  readonly dir: string;
  readonly #closers: Closer[] = [];
  readonly #work = new AbortController();
  /** Restock runs PostgreSQL cancelled (it was the deadlock's victim). */
  restockFailures = 0;
  #stopping: Promise<void> | null = null;

  private constructor(dir: string) {
    this.dir = dir;
    // Every simulated user and restock worker waits on this signal.
    setMaxListeners(0, this.#work.signal);
  }

  static async create(): Promise<DemoStack> {
    const dir = await mkdtemp(join(tmpdir(), 'hindsight-demo-'));
    // As root, PostgreSQL runs as the postgres user, who must be able to enter it.
    await chmod(dir, 0o755);
    return new DemoStack(dir);
  }

  /** Starts everything; rejects (having started some of it: call `stop`) when a part fails or the signal aborts. */
  async start(options: StackOptions): Promise<RunningDemo> {
    const { narrator } = options;
    const step = (): void => {
      if (options.signal.aborted) throw new Error('stopped');
    };
    const secret = (): string => randomBytes(24).toString('base64url');
    const secrets = { admin: secret(), ingest: secret(), hook: secret(), alice: secret(), dora: secret() };

    const pager = new PagerWebhook({ secret: secrets.hook, clock: options.clock, onPage: options.onPage });
    this.#closers.push({ what: 'the pager webhook', close: () => pager.close() });
    const hookUrl = await pager.start();

    // serve (the slowest to start) and the shop's PostgreSQL start side by side: the configuration
    // names the database by the port chosen here. Should serve's watch look before the database
    // exists, it retries a second later.
    const [shopDbPort, servePort] = [await freePort(), await freePort()];
    const shopDbDir = join(this.dir, 'shop-db');
    const shopLog = join(shopDbDir, 'server.log');
    const shopUrl = `postgres://${LOCAL_SUPERUSER}:${LOCAL_PASSWORD}@127.0.0.1:${shopDbPort}/shop`;
    const config = buildDemoConfig(
      {
        shopDbUrl: shopUrl,
        shopLogFile: shopLog,
        logPrefix: LOG_PREFIX,
        hookUrl,
        escalateAfterMs: options.escalateAfterMs,
        ruleWindowMs: options.ruleWindowMs,
      },
      secrets,
    );
    const configFile = join(this.dir, 'hindsight.config.yaml');
    await writeFile(configFile, config.text);
    const serve = new ServeChild({
      args: [
        '--config',
        configFile,
        '--port',
        String(servePort),
        '--data-dir',
        join(this.dir, 'hindsight-data'),
      ],
      env: { ...config.env, HINDSIGHT_ADMIN_TOKEN: secrets.admin },
      onLine: options.onConsoleLine,
    });
    this.#closers.push({ what: 'hindsight serve', close: () => serve.stop() });

    const shopDb = await LocalPostgres.start({
      dataDir: shopDbDir,
      port: shopDbPort,
      logFile: shopLog,
      settings: {
        log_line_prefix: LOG_PREFIX,
        log_lock_waits: true,
        deadlock_timeout: `${DEADLOCK_TIMEOUT_MS}ms`,
      },
    });
    // Stopped after serve (closers run in reverse): serve's watch does not see its target go away.
    this.#closers.splice(this.#closers.length - 1, 0, {
      what: 'the shop database',
      close: () => shopDb.stop(),
    });
    const admin = new pg.Client({ connectionString: shopDb.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE shop');
    await admin.end();
    const setup = new pg.Client({ connectionString: shopUrl });
    await setup.connect();
    await setup.query(SHOP_SCHEMA);
    await setup.end();
    narrator.say(
      'step',
      `shop-db: PostgreSQL on 127.0.0.1:${shopDb.port} with the shop's tables (log_lock_waits on, deadlock_timeout ${DEADLOCK_TIMEOUT_MS}ms, log ${shopDb.logFile})`,
    );
    step();

    const serveUrl = await untilAborted(serve.ready(90_000), options.signal);
    narrator.say('step', `hindsight serve on ${serveUrl} (its own embedded store; config ${configFile})`);
    step();

    const sdk = createHindsight({
      service: 'shop',
      release: 'v1',
      endpoint: serveUrl,
      token: secrets.ingest,
      appRoot: APP_ROOT,
      flushIntervalMs: 500,
      onError: (problem) => {
        narrator.say('problem', `the shop's SDK: ${problem.message}`);
      },
    });
    sdk.instrumentPg(pg);
    const pool = new pg.Pool({ connectionString: shopUrl, max: 20, application_name: 'shop' });
    pool.on('error', () => undefined); // a connection dropped at shutdown; the next query reconnects
    this.#closers.push({
      what: "the shop's SDK and pool",
      close: async () => {
        await sdk.close();
        await pool.end();
      },
    });
    const shop = createShop({ pool, telemetry: sdk, release: 'v1' });
    const http = serveHttp({ fetch: shop.app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await new Promise<void>((resolve) => http.once('listening', resolve));
    this.#closers.push({
      what: 'the shop',
      close: () =>
        new Promise<void>((resolve) => {
          http.close(() => {
            resolve();
          });
          http.closeAllConnections();
        }),
    });
    const address = http.address();
    const shopBase = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

    const restock = runRestockJob({
      pool,
      telemetry: sdk,
      products: FEATURED_PRODUCTS,
      workers: 4,
      warehouseMs: 60,
      signal: this.#work.signal,
      onError: () => {
        this.restockFailures++;
      },
    });
    const load = new UserLoad({
      baseUrl: shopBase,
      users: options.users,
      buyerShare: 0.3,
      products: FEATURED_PRODUCTS,
      thinkMs: 1000,
      userHeader: USER_HEADER,
      clock: options.clock,
      signal: this.#work.signal,
    });
    const users = load.start();
    this.#closers.push({
      what: 'the users and the restock job',
      close: async () => {
        this.#work.abort();
        await Promise.all([users, restock]);
      },
    });
    return {
      serveUrl,
      shopUrl: shopBase,
      configFile,
      client: new HindsightClient(serveUrl, secrets.admin),
      tokens: { alice: secrets.alice, dora: secrets.dora },
      shop,
      load,
    };
  }

  /** Stops everything started, in reverse order, and removes the directory. Never rejects; idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const closer of this.#closers.reverse()) {
        await withTimeout(closer.close(), 30_000).catch((error: unknown) => {
          process.stderr.write(`hindsight demo: could not stop ${closer.what}: ${String(error)}\n`);
        });
      }
      await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return this.#stopping;
  }
}

/** `promise`, or a rejection as soon as `signal` aborts (Ctrl-C need not wait for a slow start). */
const untilAborted = <T>(promise: Promise<T>, signal: AbortSignal): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      reject(new Error('stopped'));
    };
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', abort);
    });
  });

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => {
        reject(new Error(`not within ${ms / 1000} s`));
      }, ms).unref(),
    ),
  ]);
