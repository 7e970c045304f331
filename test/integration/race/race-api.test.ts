import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoRace, race } from '../../../src/race/race-api.js';
import type { RaceClient } from '../../../src/race/race-api.js';
import { formatResult } from '../../../src/race/race-report.js';
import { createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('race_api');
});
afterAll(async () => {
  await db.drop();
});

const setup = `CREATE TABLE stock (id int PRIMARY KEY, qty int NOT NULL);
INSERT INTO stock VALUES (1, 10), (2, 10);`;

/** Application code as people write it: read, compute in JS, write back. */
async function checkout(db: RaceClient, lock: boolean): Promise<void> {
  await db.query('BEGIN');
  const { rows } = await db.query<{ qty: number }>(
    `SELECT qty FROM stock WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [1],
  );
  const qty = rows[0]?.qty ?? 0;
  await db.query('UPDATE stock SET qty = $1 WHERE id = $2', [qty - 1, 1]);
  await db.query('COMMIT');
}

describe('race() runs real code under controlled interleavings', () => {
  it('finds the lost update of read-compute-write, and says where the queries came from', async () => {
    const result = await race({
      url: db.url,
      setup,
      sessions: { checkout: (c) => checkout(c, false), restock: (c) => checkout(c, false) },
      stopAtFirst: true,
    });
    expect(result.findings.map((f) => f.finding.kind)).toEqual(['anomaly']);
    const sites =
      result.findings[0]?.finding.run.events.flatMap((e) => (e.callSite ? [e.callSite] : [])) ?? [];
    expect(sites.length).toBeGreaterThan(0);
    expect(sites.filter((s) => !s.includes('race-api.test.ts'))).toEqual([]);
    expect(() => {
      assertNoRace(result);
    }).toThrow(/not serializable|serial order/);
  });

  it('no false alarm when the read takes FOR UPDATE', async () => {
    const result = await race({
      url: db.url,
      setup,
      sessions: { checkout: (c) => checkout(c, true), restock: (c) => checkout(c, true) },
    });
    expect(result.complete).toBe(true);
    expect(result.findings, formatResult(result)).toEqual([]);
  });

  it('finds an opposite-order deadlock in code, with the cycle', async () => {
    const transfer = (from: number, to: number) => async (c: RaceClient) => {
      await c.query('BEGIN');
      await c.query('UPDATE stock SET qty = qty - 1 WHERE id = $1', [from]);
      await c.query('UPDATE stock SET qty = qty + 1 WHERE id = $1', [to]);
      await c.query('COMMIT');
    };
    const result = await race({
      url: db.url,
      setup,
      sessions: { ab: transfer(1, 2), ba: transfer(2, 1) },
      stopAtFirst: true,
    });
    const [found] = result.findings;
    expect(found?.finding.kind).toBe('deadlock');
    expect(found?.finding.cycle).toHaveLength(2);
    expect(formatResult(result)).toMatch(/wait-for cycle: (ab → ba → ab|ba → ab → ba)/);
  });

  it('passes pg query configs through (rowMode: array, as Drizzle uses) and can stand in for a pooled client', async () => {
    const seen: unknown[] = [];
    const result = await race({
      url: db.url,
      setup,
      sessions: {
        reader: async (c) => {
          const r = await c.query({
            text: 'SELECT id, qty FROM stock WHERE id = $1',
            values: [2],
            rowMode: 'array',
          });
          seen.push(r.rows[0]);
          c.release();
        },
      },
    });
    expect(result.findings).toEqual([]);
    expect(seen[0]).toEqual([2, 10]);
  });

  it('reports code that goes on after an error inside its transaction (25P02)', async () => {
    const result = await race({
      url: db.url,
      setup,
      allow: ['unique_violation', 'serialization_failure'],
      sessions: {
        careless: async (c) => {
          await c.query('BEGIN');
          await c.query('INSERT INTO stock VALUES (1, 0)').catch(() => undefined); // swallowed 23505
          await c.query('UPDATE stock SET qty = 0 WHERE id = 2');
          await c.query('COMMIT');
        },
      },
    });
    expect(result.findings.map((f) => f.finding.kind)).toEqual(['in_failed_transaction']);
  });
});
