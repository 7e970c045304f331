import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIsolationSpec } from '../../../src/race/isolation-spec-parser.js';
import { runRace } from '../../../src/race/race-runner.js';
import { loadSpecFile } from '../../../src/race/spec-loader.js';
import { createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';

// Issue 14 item 2: race's own cancel is never reported as the user's finding, and race waits
// for what the tester waits for (a parallel query whose workers wait on locks).

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('race_cancel');
});
afterAll(async () => {
  await db.drop();
});

describe('race cancels only what it must, and says so', () => {
  it('a soft deadlock among parallel workers resolves: no statement cancelled, no finding', async () => {
    const spec = await loadSpecFile(
      join(import.meta.dirname, '../../fixtures/race/parallel-soft-deadlock.spec'),
    );
    const result = await runRace(spec, { url: db.url, stepTimeoutMs: 5000 });
    expect(result.findings.map((f) => f.finding.title)).toEqual([]);
    expect(result.outcomes).toEqual({});
    expect(result.raceCancels).toEqual([]);
  }, 30_000);

  it('a parallel query that runs for seconds is waited for: no cancel, no 57014 finding', async () => {
    const spec = await loadSpecFile(join(import.meta.dirname, '../../fixtures/race/parallel-slow.spec'));
    const t0 = performance.now();
    const result = await runRace(spec, { url: db.url });
    // Two permutations, each with a two-second scan: it really ran, to its end.
    expect(performance.now() - t0).toBeGreaterThan(4000);
    expect(result.findings.map((f) => f.finding.title)).toEqual([]);
    expect(result.outcomes).toEqual({});
    expect(result.raceCancels).toEqual([]);
  }, 60_000);

  it('a step race cancels after its step timeout is race’s limit, not a query_canceled finding', async () => {
    const spec = parseIsolationSpec(
      `session slow step nap { SELECT pg_sleep(1.5); }
       session quick step hello { SELECT 1; }
       permutation nap hello`,
      'slow.spec',
    );
    const result = await runRace(spec, { url: db.url, stepTimeoutMs: 300 });
    expect(result.findings.map((f) => f.finding.kind)).toEqual([]);
    expect(result.outcomes).toEqual({});
    expect(result.raceCancels).toEqual([{ session: 'slow', step: 'nap' }]);
  }, 20_000);
});
