import { Hono } from 'hono';
import type pg from 'pg';
import { checkout, EmptyCartError, type ShopRelease } from './checkout.js';
import type { ShopTelemetry } from './shop-telemetry.js';

/** The signed-in user, as a session cookie would give it (the demo's simulated users send it). */
export const USER_HEADER = 'x-user-id';

export interface Shop {
  /** The HTTP app: products, cart, checkout, orders. */
  readonly app: Hono;
  /** The release serving now. */
  release(): ShopRelease;
  /** Switches the running app to another release, as a rolling deploy would. */
  deploy(release: ShopRelease): void;
}

/** The sample shop: a small web app on Hono and `pg`, its requests recorded by the Hindsight SDK. */
export function createShop(options: { pool: pg.Pool; telemetry: ShopTelemetry; release: ShopRelease }): Shop {
  const { pool, telemetry } = options;
  let release = options.release;
  telemetry.setRelease(release);

  const app = new Hono();
  app.use(telemetry.hono());
  app.use(async (c, next) => {
    const user = c.req.header(USER_HEADER);
    if (user !== undefined) telemetry.identify(user);
    await next();
  });
  app.onError((error, c) => {
    if (error instanceof EmptyCartError) return c.json({ error: error.message }, 409);
    return c.json({ error: 'something went wrong; please try again' }, 500);
  });

  app.get('/products', async (c) => {
    const { rows } = await pool.query('SELECT id, name, price_cents FROM products ORDER BY id LIMIT 20');
    return c.json({ products: rows });
  });
  app.get('/products/:id', async (c) => {
    const { rows } = await pool.query(
      'SELECT p.id, p.name, p.price_cents, i.stock FROM products p JOIN inventory i ON i.product_id = p.id WHERE p.id = $1',
      [Number(c.req.param('id'))],
    );
    return rows[0] === undefined ? c.json({ error: 'no such product' }, 404) : c.json(rows[0]);
  });
  app.get('/cart', async (c) => {
    const user = c.req.header(USER_HEADER);
    if (user === undefined) return c.json({ error: 'sign in first' }, 401);
    const { rows } = await pool.query('SELECT product_id, qty FROM cart_items WHERE user_id = $1', [user]);
    return c.json({ items: rows });
  });
  app.post('/cart/items', async (c) => {
    const user = c.req.header(USER_HEADER);
    if (user === undefined) return c.json({ error: 'sign in first' }, 401);
    const body = await c.req
      .json<{ productId?: unknown; qty?: unknown }>()
      .catch(() => ({ productId: undefined, qty: undefined }));
    const productId = Number(body.productId);
    const qty = Number(body.qty ?? 1);
    if (!Number.isInteger(productId) || !Number.isInteger(qty) || qty < 1 || qty > 10) {
      return c.json({ error: 'send { "productId": <integer>, "qty": 1–10 }' }, 400);
    }
    await pool.query(
      `INSERT INTO cart_items (user_id, product_id, qty) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, product_id) DO UPDATE SET qty = LEAST(cart_items.qty + EXCLUDED.qty, 10)`,
      [user, productId, qty],
    );
    return c.json({ ok: true }, 201);
  });
  app.post('/checkout', async (c) => {
    const user = c.req.header(USER_HEADER);
    if (user === undefined) return c.json({ error: 'sign in first' }, 401);
    const order = await checkout(pool, user, () => release);
    return c.json(order, 201);
  });
  app.get('/orders/:id', async (c) => {
    const { rows } = await pool.query(
      'SELECT id, total_cents, release, created_at FROM orders WHERE id = $1',
      [Number(c.req.param('id'))],
    );
    return rows[0] === undefined ? c.json({ error: 'no such order' }, 404) : c.json(rows[0]);
  });

  return {
    app,
    release: () => release,
    deploy: (next) => {
      release = next;
      telemetry.setRelease(next);
    },
  };
}
