import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRace } from '../../../src/race/race-runner.js';
import { ScheduleEngine } from '../../../src/race/schedule-engine.js';
import { runPermutation } from '../../../src/race/schedule-runner.js';
import type { ScheduleRun } from '../../../src/race/schedule-runner.js';
import { loadSpecFile } from '../../../src/race/spec-loader.js';
import type { RaceSpec } from '../../../src/race/race-spec.js';
import { createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';

// Issue 14 item 1: a step sent to a session whose previous step still waits is queued behind it
// (the isolation tester's run_permutation), and per-session deadlock_timeout chooses the victim.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('race_queue');
});
afterAll(async () => {
  await db.drop();
});

const fixture = (name: string): Promise<RaceSpec> =>
  loadSpecFile(join(import.meta.dirname, '../../fixtures/race', name));
const outcomes = (run: ScheduleRun): string[] =>
  run.events
    .filter((e) => e.kind === 'done' || e.kind === 'error')
    .map((e) => (e.kind === 'error' ? `${e.step} ${e.code ?? ''}` : e.step));

async function runOnly(spec: RaceSpec): Promise<ScheduleRun> {
  const engine = await ScheduleEngine.open(
    db.url,
    spec.sessions.map((s) => s.name),
  );
  try {
    const permutation = spec.permutations[0];
    if (!permutation) throw new Error('the fixture lists no permutation');
    return await runPermutation(engine, spec, permutation);
  } finally {
    await engine.close();
  }
}

describe('isolation tester: a step queued behind a blocked step of its session', () => {
  it('waits for the soft deadlock to resolve, then runs the commit, in the tester’s order', async () => {
    const run = await runOnly(await fixture('soft-deadlock-queued.spec'));
    // Up to picker_shelf the order is fixed; after that a COMMIT's reply and the step it wakes
    // reach the client in either order (the tester prints the COMMIT first).
    expect(outcomes(run).slice(0, 3)).toEqual(['picker_bin', 'reporter_shelf', 'picker_shelf']);
    expect(new Set(outcomes(run).slice(3))).toEqual(
      new Set([
        'picker_commit',
        'reporter_bin',
        'reporter_commit',
        'packer_shelf',
        'packer_commit',
        'auditor_shelf',
        'auditor_commit',
      ]),
    );
    const seqOf = (step: string, kind: string): number =>
      run.events.find((e) => e.step === step && e.kind === kind)?.seq ?? -1;
    for (const [waiting, commit] of [
      ['picker_shelf', 'picker_commit'],
      ['reporter_bin', 'reporter_commit'],
      ['packer_shelf', 'packer_commit'],
      ['auditor_shelf', 'auditor_commit'],
    ] as const) {
      expect(seqOf(commit, 'start')).toBeGreaterThan(seqOf(waiting, 'done'));
    }
    expect(run.stalls).toEqual([]);
    // picker_commit was sent only once picker_shelf had its result.
    const commitStart = run.events.find((e) => e.step === 'picker_commit' && e.kind === 'start');
    const shelfDone = run.events.find((e) => e.step === 'picker_shelf' && e.kind === 'done');
    expect(commitStart && shelfDone && commitStart.seq > shelfDone.seq).toBe(true);
  }, 20_000);

  it('8-session ring: the session with the short deadlock_timeout is the victim, the rest commit in turn', async () => {
    const run = await runOnly(await fixture('deadlock-ring-victim.spec'));
    const errors = run.events.filter((e) => e.kind === 'error');
    expect(errors.map((e) => [e.step, e.code])).toEqual([['till_next', '40P01']]);
    // Each commit, in reverse order, lets the previous session's waiting step complete (whether
    // the COMMIT's reply or the woken step reaches the client first is a race of its own).
    const seqOf = (step: string, kind: string): number =>
      run.events.find((e) => e.step === step && e.kind === kind)?.seq ?? -1;
    const ring = ['ana', 'bo', 'cy', 'di', 'ed', 'flo', 'gus'];
    for (const [i, name] of ring.entries()) {
      // gus waits for till, whose locks the deadlock victim's abort releases.
      const released =
        i + 1 < ring.length ? seqOf(`${ring[i + 1] ?? ''}_commit`, 'start') : seqOf('till_next', 'error');
      expect(seqOf(`${name}_next`, 'done')).toBeGreaterThan(released);
      expect(seqOf(`${name}_commit`, 'start')).toBeGreaterThan(seqOf(`${name}_next`, 'done'));
    }
    expect(
      run.events.filter((e) => e.kind === 'start' && e.step.endsWith('_commit')).map((e) => e.step),
    ).toEqual(['till', ...[...ring].reverse()].map((n) => `${n}_commit`));
    expect(run.stalls).toEqual([]);
  }, 20_000);

  it('race (explore mode) reports the 8-session ring as the deadlock it is, not as bad input', async () => {
    const result = await runRace(await fixture('deadlock-ring-victim.spec'), { url: db.url });
    expect(result.findings.map((f) => [f.finding.kind, f.finding.step])).toEqual([['deadlock', 'till_next']]);
    expect(result.raceCancels).toEqual([]);
  }, 30_000);
});
