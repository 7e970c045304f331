import pg from 'pg';
import { sleep } from '../src/platform/abortable-sleep.js';

/**
 * The seed's outage in miniature, over and over: a checkout that forgets to commit (an idle-in-
 * transaction session at the root of a blocking chain two deep) and a restock job that updates
 * the same two tables in the opposite order (a deadlock). Until the sample shop app exists, this
 * is what `npm start` shows Hindsight catching.
 */
export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS products (id int PRIMARY KEY, name text NOT NULL, price numeric NOT NULL);
  CREATE TABLE IF NOT EXISTS inventory (product_id int PRIMARY KEY REFERENCES products, qty int NOT NULL);
  INSERT INTO products SELECT g, 'product ' || g, 10 + g FROM generate_series(1, 100) g ON CONFLICT DO NOTHING;
  INSERT INTO inventory SELECT g, 1000 FROM generate_series(1, 100) g ON CONFLICT DO NOTHING;
`;

export interface ScenarioOptions {
  readonly url: string;
  readonly signal: AbortSignal;
  /** Seconds between rounds. */
  readonly everySeconds?: number;
  readonly onError?: (error: unknown) => void;
}

const connect = async (url: string, application: string): Promise<pg.Client> => {
  const client = new pg.Client({ connectionString: url, application_name: application });
  client.on('error', () => undefined); // the server may restart under us; the round just fails
  await client.connect();
  return client;
};

/** A blocking chain: checkout (idle in transaction) ← restock ← report, for `holdMs`. */
async function blockingRound(url: string, holdMs: number, signal: AbortSignal): Promise<void> {
  const [checkout, restock, report, audit] = await Promise.all([
    connect(url, 'shop-checkout'),
    connect(url, 'shop-restock'),
    connect(url, 'shop-report'),
    connect(url, 'shop-audit'),
  ]);
  try {
    await checkout.query('BEGIN');
    await checkout.query('UPDATE inventory SET qty = qty - 1 WHERE product_id = 1');
    // checkout now sits idle in its transaction: the forgotten COMMIT.
    await restock.query('BEGIN');
    await restock.query('UPDATE inventory SET qty = qty + 5 WHERE product_id = 2');
    const restocked = restock.query('UPDATE inventory SET qty = qty + 5 WHERE product_id = 1');
    const others = [
      report.query('SELECT qty FROM inventory WHERE product_id = 2 FOR UPDATE'),
      audit.query('SELECT qty FROM inventory WHERE product_id = 1 FOR SHARE'),
    ];
    await sleep(holdMs, signal);
    await checkout.query('COMMIT');
    // The chain unwinds from its root: restock gets row 1, commits, and releases row 2.
    await restocked.catch(() => undefined);
    await restock.query('COMMIT');
    await Promise.allSettled(others);
  } finally {
    await Promise.allSettled([checkout, restock, report, audit].map((c) => c.end()));
  }
}

/** A deadlock: checkout updates inventory then products, restock the other way round. */
async function deadlockRound(url: string): Promise<void> {
  const [checkout, restock] = await Promise.all([
    connect(url, 'shop-checkout'),
    connect(url, 'shop-restock'),
  ]);
  try {
    await checkout.query('BEGIN');
    await restock.query('BEGIN');
    await checkout.query('UPDATE inventory SET qty = qty - 1 WHERE product_id = 42');
    await restock.query('UPDATE products SET price = price * 1.01 WHERE id = 42');
    const outcomes = await Promise.allSettled([
      checkout.query('UPDATE products SET name = name WHERE id = 42'),
      restock.query('UPDATE inventory SET qty = qty + 10 WHERE product_id = 42'),
    ]);
    for (const [i, client] of [checkout, restock].entries()) {
      await client.query(outcomes[i]?.status === 'fulfilled' ? 'COMMIT' : 'ROLLBACK');
    }
  } finally {
    await Promise.allSettled([checkout.end(), restock.end()]);
  }
}

/** Runs rounds until `signal` aborts; a failed round is reported and the next one goes on. */
export async function runLockScenario(options: ScenarioOptions): Promise<void> {
  const every = (options.everySeconds ?? 8) * 1000;
  const stopped = (): boolean => options.signal.aborted;
  while (!stopped()) {
    try {
      await blockingRound(options.url, Math.min(5000, every * 0.6), options.signal);
      if (stopped()) break;
      await deadlockRound(options.url);
    } catch (error) {
      if (!stopped()) options.onError?.(error);
    }
    await sleep(every * 0.3, options.signal);
  }
}
