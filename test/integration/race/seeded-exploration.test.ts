import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRace } from '../../../src/race/race-runner.js';
import { loadSpecFile } from '../../../src/race/spec-loader.js';
import { createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('race_seed');
});
afterAll(async () => {
  await db.drop();
});

describe('larger tests: bounded context switches, then seeded random schedules', () => {
  it('--seed replays the same schedules, and finds the three-way deadlock', async () => {
    const spec = await loadSpecFile(join(import.meta.dirname, '../../fixtures/race/three-transfers.yaml'));
    const options = { url: db.url, maxSchedules: 12, seed: 42, shrink: false };
    const first = await runRace(spec, options);
    const again = await runRace(spec, options);
    expect(first.complete).toBe(false);
    expect(first.strategy).toMatch(/PCT/);
    expect(first.schedules).toBe(12);
    expect(
      again.explored,
      `first:\n${first.explored.join('\n')}\nagain:\n${again.explored.join('\n')}`,
    ).toEqual(first.explored);
    expect(first.findings.map((f) => f.finding.kind)).toContain('deadlock');
  });
});
