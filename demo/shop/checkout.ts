import type pg from 'pg';

/** The shop's releases: v1, v2 (the lock-order bug, the seed's "recent code change") and v2.1 (the fix). */
export type ShopRelease = 'v1' | 'v2' | 'v2.1';
export const SHOP_RELEASES: readonly ShopRelease[] = ['v1', 'v2', 'v2.1'];

interface CartLine {
  readonly productId: number;
  readonly qty: number;
}

export interface Order {
  readonly id: number;
  readonly totalCents: number;
  readonly items: number;
}

/** The cart is empty: nothing to check out (a 4xx, the client's mistake). */
export class EmptyCartError extends Error {
  override readonly name = 'EmptyCartError';
}

/**
 * Checkout: the cart becomes an order, each product's `sold` counter and its stock are updated,
 * all in one transaction. Lines are taken in product order so that two checkouts never deadlock.
 * The release is read once a connection is had: a checkout queued for one during a deploy runs
 * the new code.
 */
export async function checkout(
  pool: pg.Pool,
  userId: string,
  currentRelease: () => ShopRelease,
): Promise<Order> {
  const client = await pool.connect();
  const release = currentRelease();
  try {
    await client.query('BEGIN');
    const cart = await client.query<{ product_id: number; qty: number }>(
      'SELECT product_id, qty FROM cart_items WHERE user_id = $1 ORDER BY product_id',
      [userId],
    );
    if (cart.rows.length === 0) throw new EmptyCartError('the cart is empty');
    let totalCents = 0;
    const priced: { line: CartLine; priceCents: number }[] = [];
    for (const row of cart.rows) {
      const line = { productId: row.product_id, qty: row.qty };
      const priceCents =
        release === 'v2' ? await reserveThenPrice(client, line) : await priceThenReserve(client, line);
      totalCents += priceCents * line.qty;
      priced.push({ line, priceCents });
    }
    const order = await client.query<{ id: string }>(
      'INSERT INTO orders (user_id, total_cents, release) VALUES ($1, $2, $3) RETURNING id',
      [userId, totalCents, release],
    );
    const orderId = Number(order.rows[0]?.id);
    for (const { line, priceCents } of priced) {
      await client.query(
        'INSERT INTO order_items (order_id, product_id, qty, price_cents) VALUES ($1, $2, $3, $4)',
        [orderId, line.productId, line.qty, priceCents],
      );
    }
    await client.query('DELETE FROM cart_items WHERE user_id = $1', [userId]);
    await client.query('COMMIT');
    return { id: orderId, totalCents, items: priced.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** v1 and v2.1: the product row, then its stock — the order the restock job takes them in too. */
async function priceThenReserve(client: pg.PoolClient, line: CartLine): Promise<number> {
  const product = await client.query<{ price_cents: number }>(
    'UPDATE products SET sold = sold + $1 WHERE id = $2 RETURNING price_cents',
    [line.qty, line.productId],
  );
  await client.query('UPDATE inventory SET stock = stock - $1 WHERE product_id = $2', [
    line.qty,
    line.productId,
  ]);
  return product.rows[0]?.price_cents ?? 0;
}

/**
 * v2, "reserve the stock before pricing": the stock row first, then the product — the opposite
 * of the restock job's order. A checkout and a restock of the same product can now each hold the
 * row the other one wants: a deadlock, and PostgreSQL cancels one of them.
 */
async function reserveThenPrice(client: pg.PoolClient, line: CartLine): Promise<number> {
  await client.query('UPDATE inventory SET stock = stock - $1 WHERE product_id = $2', [
    line.qty,
    line.productId,
  ]);
  const product = await client.query<{ price_cents: number }>(
    'UPDATE products SET sold = sold + $1 WHERE id = $2 RETURNING price_cents',
    [line.qty, line.productId],
  );
  return product.rows[0]?.price_cents ?? 0;
}
