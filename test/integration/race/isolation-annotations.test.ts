import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleEngine } from '../../../src/race/schedule-engine.js';
import { runPermutation } from '../../../src/race/schedule-runner.js';
import type { ScheduleRun } from '../../../src/race/schedule-runner.js';
import { loadSpecFile } from '../../../src/race/spec-loader.js';
import type { RaceSpec } from '../../../src/race/race-spec.js';
import { createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';

let db: TestDatabase;
let engine: ScheduleEngine;
let spec: RaceSpec;

beforeAll(async () => {
  db = await createTestDatabase('race_ann');
  spec = await loadSpecFile(join(import.meta.dirname, '../../fixtures/race/annotations.spec'));
  engine = await ScheduleEngine.open(
    db.url,
    spec.sessions.map((s) => s.name),
  );
});
afterAll(async () => {
  await engine.close();
  await db.drop();
});

const order = (run: ScheduleRun): string[] =>
  run.events.filter((e) => e.kind === 'done' || e.kind === 'error').map((e) => e.step);
const permutation = (i: number) => {
  const p = spec.permutations[i];
  if (!p) throw new Error(`no permutation ${i}`);
  return p;
};

describe('isolation tester annotations', () => {
  it('(*): the scheduler goes on without waiting for the step, which completes later', async () => {
    const run = await runPermutation(engine, spec, permutation(0));
    expect(order(run)).toEqual(['insert', 'count', 'sleep']);
  });

  it('(step): a step that is not running holds nothing, so the slow step is waited for (as the tester does)', async () => {
    const run = await runPermutation(engine, spec, permutation(1));
    expect(order(run)).toEqual(['sleep', 'insert', 'count']);
  });

  it('(step notices N): a finished step is held until the other step’s session received N notices', async () => {
    await engine.reset(spec);
    const [insert] = permutation(3);
    void engine.send('quick', {
      name: 'insert',
      sql: 'INSERT INTO t VALUES (1)',
      blockers: insert?.blockers ?? [],
    });
    await engine.settle();
    expect(engine.session('quick').inflight?.result?.ok).toBe(true);
    expect(engine.inProgress('quick')).toBe(true);
    void engine.send('slow', {
      name: 'note',
      sql: "DO $$ BEGIN RAISE NOTICE 'one'; RAISE NOTICE 'two'; END $$",
    });
    await engine.settle();
    expect(engine.inProgress('quick')).toBe(false);
    const run = await runPermutation(engine, spec, permutation(3));
    expect(order(run)).toEqual(['insert', 'note', 'count']);
    expect(run.stalls).toEqual([]);
  });

  it('(*, step): combined, the permutation goes on past the slow step', async () => {
    const run = await runPermutation(engine, spec, permutation(4));
    expect(order(run)).toEqual(['insert', 'count', 'sleep']);
  });

  it('(notices N): the step counts as done once its notices arrived', async () => {
    const run = await runPermutation(engine, spec, permutation(2));
    expect(order(run)).toEqual(['note', 'count']);
    expect(engine.session('slow').notices).toBe(2);
  });

  it('without annotation a slow step is waited for (it is not blocked by a session)', async () => {
    const run = await runPermutation(engine, spec, [
      { step: 'sleep', blockers: [] },
      { step: 'insert', blockers: [] },
    ]);
    expect(order(run)).toEqual(['sleep', 'insert']);
  });
});
