import { describe, expect, it } from 'vitest';
import { shortenStatement } from '../../../src/core/statement-shortener.js';

describe('shortenStatement', () => {
  it.each([
    ['UPDATE inventory SET qty = qty - $1 WHERE id = $2', 'UPDATE inventory …'],
    ['UPDATE ONLY inventory SET qty = $1', 'UPDATE inventory …'],
    ['INSERT INTO orders(id, total) VALUES ($1, $2)', 'INSERT INTO orders …'],
    ['DELETE FROM carts WHERE id = $1', 'DELETE FROM carts …'],
    ['SELECT * FROM orders WHERE id = $1', 'SELECT … FROM orders …'],
    ['SELECT count(*) FROM events', 'SELECT … FROM events'],
    ['SELECT $1', 'SELECT $1'],
    ['LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE', 'LOCK TABLE accounts IN …'],
    ['  COMMIT  ', 'COMMIT'],
    ['', ''],
  ])('%s → %s', (query, short) => {
    expect(shortenStatement(query)).toBe(short);
  });

  it('keeps a long relation name within bounds', () => {
    expect(shortenStatement(`UPDATE ${'x'.repeat(100)} SET a = $1`).length).toBeLessThanOrEqual(60);
  });
});
