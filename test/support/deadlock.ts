import type pg from 'pg';

/**
 * Makes one real deadlock between two sessions that update `accounts` rows `first` and `second` in
 * opposite orders (the seed's lock-order bug). Resolves with the time the victim received 40P01.
 * The table needs rows with those ids: `CREATE TABLE accounts (id int PRIMARY KEY, balance int)`.
 */
export async function makeDeadlock(a: pg.Client, b: pg.Client, first = 1, second = 2): Promise<number> {
  await a.query('BEGIN');
  await b.query('BEGIN');
  await a.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [first]);
  await b.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [second]);
  let victimAt = 0;
  const note = (error: unknown): void => {
    if ((error as { code?: string }).code === '40P01') victimAt = Date.now();
    else throw error;
  };
  await Promise.all([
    a.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [second]).catch(note),
    b.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [first]).catch(note),
  ]);
  await Promise.all([a.query('ROLLBACK'), b.query('ROLLBACK')]);
  if (victimAt === 0) throw new Error('no session was chosen as the deadlock victim');
  return victimAt;
}
