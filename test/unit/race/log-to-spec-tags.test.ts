import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';
import { specFromLogEvents } from '../../../src/race/log-to-spec.js';

/** A real log (record-sqlcommenter.ts) whose statements carry the app's sqlcommenter tags first, with `log_statement = 'all'`. */
const fixture = join(import.meta.dirname, '../../fixtures/postgres-logs/sqlcommenter/postgresql.log');

describe('race --from-log on statements with sqlcommenter tags', () => {
  it('binds the logged parameters to the deadlocked statements and leaves the tags out of the spec', () => {
    const reader = createLogReader({ format: 'auto' });
    const text = specFromLogEvents(
      [...reader.push(readFileSync(fixture)), ...reader.end()],
      'postgresql.log',
    );
    const spec = parse(text) as { sessions: Record<string, { steps: string[] }> };
    const steps = Object.values(spec.sessions).flatMap((s) => s.steps);
    expect(steps.sort()).toEqual([
      'UPDATE inventory SET stock = stock + 5 WHERE product_id = 1',
      'UPDATE inventory SET stock = stock + 5 WHERE product_id = 1',
      'UPDATE products SET price = price - 1 WHERE id = 1',
      'UPDATE products SET price = price - 1 WHERE id = 1',
    ]);
    expect(text).not.toMatch(/TODO|callsite/);
  });
});
