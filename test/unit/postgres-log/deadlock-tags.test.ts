import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SqlTags } from '../../../src/core/app-signal.js';
import type { DeadlockReport } from '../../../src/core/log-event.js';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';
import { interpretLogEvent } from '../../../src/postgres-log/log-signal.js';

/**
 * Deadlock reports of statements that carry sqlcommenter tags, as a real PostgreSQL 18 logged them
 * (test/fixtures/postgres-logs/record-sqlcommenter.ts, `track_activity_query_size = 200`).
 */
const dir = join(import.meta.dirname, '../../fixtures/postgres-logs/sqlcommenter');
const FILES: Record<'stderr' | 'csvlog' | 'jsonlog', string> = {
  stderr: 'postgresql.log',
  csvlog: 'postgresql.csv',
  jsonlog: 'postgresql.json',
};

const CHECKOUT: SqlTags = {
  service: 'shop',
  release: 'v2',
  route: 'POST /checkout',
  callsite: 'demo/shop/checkout.ts:88',
};
const RESTOCK: SqlTags = {
  service: 'shop',
  release: 'v2',
  job: 'restock',
  callsite: 'demo/shop/restock.ts:20',
};
const long = (tags: SqlTags): SqlTags => ({
  ...tags,
  callsite: `demo/shop/${'very-long-folder-name/'.repeat(4)}${tags.callsite ?? ''}`,
});

const reports = (format: keyof typeof FILES): DeadlockReport[] => {
  const reader = createLogReader({ format, ...(format === 'stderr' ? { prefix: '%m [%p] %q%u@%d ' } : {}) });
  const events = [...reader.push(readFileSync(join(dir, FILES[format]))), ...reader.end()];
  return events.flatMap((event) => {
    const signal = interpretLogEvent(event);
    return signal?.kind === 'deadlock' ? [signal.report] : [];
  });
};

/** Each side as [victim?, query, tags], the victim first. */
const sides = (report: DeadlockReport | undefined): [boolean, string | null, SqlTags | undefined][] =>
  (report?.processes ?? [])
    .map((p): [boolean, string | null, SqlTags | undefined] => [p.pid === report?.victimPid, p.query, p.tags])
    .sort((a, b) => Number(b[0]) - Number(a[0]));

describe.each(['stderr', 'csvlog', 'jsonlog'] as const)(
  'sqlcommenter tags in deadlock reports (%s)',
  (format) => {
    const [whole, cutLast, cutFirst, ...more] = reports(format);

    it('reads tags written first off both sides, and shows the statements without them', () => {
      expect(more).toEqual([]);
      expect(sides(whole)).toEqual([
        [true, 'UPDATE inventory SET stock = stock + 5 WHERE product_id = $1', RESTOCK],
        [false, 'UPDATE products SET price = price - 1 WHERE id = $1', CHECKOUT],
      ]);
    });

    it('drops tags written last that the DETAIL cut off (no half comment); the victim’s come from its STATEMENT', () => {
      expect(sides(cutLast)).toEqual([
        [
          true,
          'UPDATE inventory SET stock = stock + 5 WHERE product_id = $1 AND stock > -1000000 AND stock < 1000000 AND product_id > -1 AND product_id < 1000000',
          RESTOCK,
        ],
        [
          false,
          'UPDATE products SET price = price - 1 WHERE id = $1 AND price > -1000000 AND price < 1000000 AND id > -1 AND id < 1000000',
          undefined,
        ],
      ]);
    });

    it('a comment first cut inside itself gives no tags and no query; the victim’s whole STATEMENT gives both', () => {
      expect(sides(cutFirst)).toEqual([
        [true, 'UPDATE products SET price = price - 1 WHERE id = $1', long(CHECKOUT)],
        // Its comment fit; its statement was cut after two letters, as PostgreSQL logged it.
        [false, 'UP', long(RESTOCK)],
      ]);
    });
  },
);
