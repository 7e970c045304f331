import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHindsightError } from '../../../src/core/errors.js';
import { parseSchedule, runRace } from '../../../src/race/race-runner.js';
import type { RaceOptions } from '../../../src/race/race-runner.js';
import { loadSpecFile } from '../../../src/race/spec-loader.js';
import { createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';

const fixture = (name: string): string => join(import.meta.dirname, '../../fixtures/race', name);
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('race_broken');
});
afterAll(async () => {
  await db.drop();
});

async function failure(
  file: string,
  options: Partial<RaceOptions> = {},
): Promise<{ code: string; kind: string; message: string }> {
  try {
    await runRace(await loadSpecFile(fixture(file)), { url: db.url, ...options });
  } catch (error) {
    if (isHindsightError(error)) return { code: error.code, kind: error.kind, message: error.message };
    throw error;
  }
  throw new Error(`${file} passed`);
}

describe('a spec that cannot fail is refused, never passed', () => {
  it('a statement that fails in every serial order is a broken spec: session, step, statement, message', async () => {
    const e = await failure('broken-misspelt-table.yaml');
    expect(e.code).toBe('RACE_SPEC_BROKEN');
    expect(e.kind).toBe('user');
    expect(e.message).toContain('session a, step a.2');
    expect(e.message).toContain('UPDATE acounts SET balance = balance + 10 WHERE id = 2');
    expect(e.message).toContain('42P01');
    expect(e.message).toContain('relation "acounts" does not exist');
  });

  it('the same spec spelt right still finds its deadlock (preflight costs no finding)', async () => {
    const result = await runRace(await loadSpecFile(fixture('opposite-order-deadlock.yaml')), {
      url: db.url,
    });
    expect(result.findings.map((f) => f.finding.kind)).toEqual(['deadlock']);
  });

  it('--schedule naming an unknown session is refused', async () => {
    const e = await failure('opposite-order-deadlock.yaml', { schedule: parseSchedule('zz yy') });
    expect([e.code, e.kind]).toEqual(['RACE_BAD_SCHEDULE', 'user']);
    expect(e.message).toMatch(/zz.*sessions are a, b/);
  });

  it('--schedule that does not run every step is refused, with a full one to copy', async () => {
    const e = await failure('opposite-order-deadlock.yaml', { schedule: parseSchedule('a') });
    expect(e.code).toBe('RACE_BAD_SCHEDULE');
    expect(e.message).toMatch(/stops after 1 of 6 choices.*--schedule "a a a b b b"/);
  });

  it('--schedule with a choice that cannot move there is refused', async () => {
    // a.2 waits for b (b holds row 2), so the third choice cannot be a again.
    const e = await failure('opposite-order-deadlock.yaml', { schedule: parseSchedule('a b a a b b') });
    expect(e.code).toBe('RACE_BAD_SCHEDULE');
    expect(e.message).toMatch(/choice 4 is a, but only b could move there/);
  });
});
