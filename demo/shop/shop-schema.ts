/**
 * The sample shop's tables and seed data. A handful of "featured" products get most of the
 * traffic (every cart holds one or two of them): that is where checkout and the restock job meet.
 */
export const FEATURED_PRODUCTS = [1, 2, 3, 4, 5, 6, 7, 8] as const;

const NAMES = [
  'Espresso beans 1 kg',
  'Pour-over kettle',
  'Burr grinder',
  'Ceramic dripper',
  'Paper filters (100)',
  'Milk jug 600 ml',
  'Digital scale',
  'Travel mug',
  'Cold brew bottle',
  'Tamper 58 mm',
];

export const SHOP_SCHEMA = `
  CREATE TABLE products (
    id int PRIMARY KEY,
    name text NOT NULL,
    price_cents int NOT NULL,
    sold int NOT NULL DEFAULT 0,
    restocked_at timestamptz
  );
  CREATE TABLE inventory (
    product_id int PRIMARY KEY REFERENCES products,
    stock int NOT NULL CHECK (stock >= 0)
  );
  CREATE TABLE cart_items (
    user_id text NOT NULL,
    product_id int NOT NULL REFERENCES products,
    qty int NOT NULL CHECK (qty > 0),
    PRIMARY KEY (user_id, product_id)
  );
  CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id text NOT NULL,
    total_cents int NOT NULL,
    release text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE order_items (
    order_id bigint NOT NULL REFERENCES orders,
    product_id int NOT NULL REFERENCES products,
    qty int NOT NULL,
    price_cents int NOT NULL
  );
  CREATE INDEX ON order_items (product_id);
  INSERT INTO products (id, name, price_cents)
    SELECT g, (ARRAY[${NAMES.map((n) => `'${n}'`).join(', ')}])[1 + (g - 1) % ${NAMES.length}] || CASE WHEN g > ${NAMES.length} THEN ' #' || g ELSE '' END,
           500 + (g * 137) % 5000
    FROM generate_series(1, 60) g;
  INSERT INTO inventory (product_id, stock) SELECT id, 1000000 FROM products;
`;
