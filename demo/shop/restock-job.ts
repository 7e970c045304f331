import type pg from 'pg';
import { sleep } from '../../src/platform/abortable-sleep.js';
import type { ShopTelemetry } from './shop-telemetry.js';

export interface RestockOptions {
  readonly pool: pg.Pool;
  readonly telemetry: ShopTelemetry;
  readonly products: readonly number[];
  /** Restocks running side by side. */
  readonly workers: number;
  /** How long the warehouse takes to answer, while the product row is held. */
  readonly warehouseMs: number;
  readonly signal: AbortSignal;
  readonly onError?: (error: unknown) => void;
}

/**
 * The inventory restock job: for each product in turn, mark it restocked (the product row is
 * locked), ask the warehouse how much arrived, and add that to its stock (an upsert: a new product
 * gets its inventory row). It takes the product row first, then the stock — as checkout did until v2.
 */
export async function runRestockJob(options: RestockOptions): Promise<void> {
  const { products, workers, signal } = options;
  const stopped = (): boolean => signal.aborted;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let turn = worker; !stopped(); turn += workers) {
        const productId = products[turn % products.length] ?? 1;
        try {
          await options.telemetry.job('restock', () => restockOne(options, productId));
        } catch (error) {
          if (!stopped()) options.onError?.(error);
        }
        await sleep(5, signal);
      }
    }),
  );
}

async function restockOne(options: RestockOptions, productId: number): Promise<void> {
  const client = await options.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('UPDATE products SET restocked_at = now() WHERE id = $1', [productId]);
    const arrived = await askWarehouse(options.warehouseMs);
    await client.query(
      `INSERT INTO inventory (product_id, stock) VALUES ($1, $2)
       ON CONFLICT (product_id) DO UPDATE SET stock = inventory.stock + EXCLUDED.stock`,
      [productId, arrived],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The warehouse's answer, after a while (a real one is a network call). */
async function askWarehouse(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 5;
}
