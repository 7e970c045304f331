import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatResult } from '../../../src/race/race-report.js';
import { runRace } from '../../../src/race/race-runner.js';
import type { RaceOptions, RaceResult } from '../../../src/race/race-runner.js';
import { contextSwitches } from '../../../src/race/schedule-explorer.js';
import { victimIsUnstable } from '../../../src/race/schedule-runner.js';
import { loadSpecFile } from '../../../src/race/spec-loader.js';
import { createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';

const fixture = (name: string): string => join(import.meta.dirname, '../../fixtures/race', name);
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('race');
});
afterAll(async () => {
  await db.drop();
});

async function race(file: string, options: Partial<RaceOptions> = {}): Promise<RaceResult> {
  return runRace(await loadSpecFile(fixture(file)), { url: db.url, ...options });
}

const kinds = (r: RaceResult): string[] => r.findings.map((f) => f.finding.kind).sort();

describe('deadlocks are found, with the statement that closed the cycle as victim', () => {
  it('opposite-order row updates: found, minimized, replayable', async () => {
    const result = await race('opposite-order-deadlock.yaml');
    expect(result.complete).toBe(true);
    expect(kinds(result)).toEqual(['deadlock']);
    const [found] = result.findings;
    if (!found) throw new Error('no finding');
    expect(found.finding.code).toBe('40P01');
    expect(found.finding.cycle?.map((e) => `${e.waiter}->${e.holder}`).sort()).toEqual(['a->b', 'b->a']);
    expect(victimIsUnstable(found.finding.run.events)).toBe(false);
    // Minimal: the four updates, and no more context switches than the schedule it was found with.
    const updates = found.finding.run.events.filter((e) => e.kind === 'start' && /update/i.test(e.sql));
    expect(updates).toHaveLength(4);
    expect(contextSwitches(found.schedule, found.finding.run.decisions)).toBeLessThanOrEqual(1);
    // The printed schedule replays it.
    const replay = await race('opposite-order-deadlock.yaml', { schedule: found.originalSchedule });
    expect(replay.strategy).toBe('replay');
    expect(kinds(replay)).toEqual(['deadlock']);
  });

  it('isolation-tester permutations: 40P01 on s2b in the crossing order, nothing when serial', async () => {
    const result = await race('deadlock-opposite-order.spec');
    expect(result.schedules).toBe(2);
    const [found] = result.findings;
    expect(found?.finding.kind).toBe('deadlock');
    expect(found?.finding.step).toBe('s2b');
    const events = found?.finding.run.events ?? [];
    expect(events.find((e) => e.step === 's1b' && e.kind === 'waits')?.waitsFor).toEqual(['s2']);
    expect(events.find((e) => e.step === 's1b' && e.kind === 'done')).toBeDefined();
    expect(result.outcomes.deadlock).toBe(1);
  });

  it('YAML permutations run as written (BEGIN released first)', async () => {
    const spec = await loadSpecFile(fixture('opposite-order-deadlock.yaml'));
    const step = (name: string) => ({ step: name, blockers: [] });
    const crossing = ['a.1', 'b.1', 'a.2', 'b.2', 'a.commit', 'b.commit'].map(step);
    const serial = ['a.1', 'a.2', 'a.commit', 'b.1', 'b.2', 'b.commit'].map(step);
    const result = await runRace({ ...spec, permutations: [crossing, serial] }, { url: db.url });
    expect(result.schedules).toBe(2);
    expect(result.findings.map((f) => [f.finding.kind, f.finding.step])).toEqual([['deadlock', 'b.2']]);
    expect(result.outcomes).toEqual({ deadlock: 1 });
  });

  it('through a foreign-key check (child insert vs parent delete)', async () => {
    const result = await race('deadlock-foreign-key.spec');
    // Also found: the parent delete fails (23503) when a child was added and committed meanwhile.
    expect(kinds(result)).toEqual(['deadlock', 'error']);
    const deadlock = result.findings.find((f) => f.finding.kind === 'deadlock');
    expect(deadlock?.finding.fix).toMatch(/foreign-key/);
    const violation = result.findings.find((f) => f.finding.kind === 'error')?.finding;
    expect([violation?.code, violation?.step]).toEqual(['23503', 'r_parent']);
    // The adder's own 23503 when the parent is already gone happens serially too: not a race.
    expect(result.findings.some((f) => f.finding.step === 'a_insert')).toBe(false);
    expect(result.outcomes.error).toBeGreaterThan(1);
  });

  it('SELECT … FOR UPDATE vs UPDATE in the other order', async () => {
    const result = await race('deadlock-for-update.spec', { stopAtFirst: true });
    expect(kinds(result)).toEqual(['deadlock']);
  });

  it('a three-way cycle', async () => {
    const result = await race('deadlock-three-way.spec');
    const [found] = result.findings;
    expect(found?.finding.kind).toBe('deadlock');
    expect(found?.finding.step).toBe('s3b');
    expect(found?.finding.cycle).toHaveLength(3);
  });

  it('upserts of new keys in opposite orders', async () => {
    const result = await race('deadlock-upsert.spec', { stopAtFirst: true });
    expect(kinds(result)).toEqual(['deadlock']);
    expect(result.findings[0]?.finding.fix).toMatch(/ON CONFLICT/);
  });
});

describe('timeouts', () => {
  it('lock_timeout (55P03) fires whenever it can; NOWAIT fails at once and is not called a timeout', async () => {
    const result = await race('lock-timeout.spec');
    expect(result.schedules).toBe(2);
    // n_lock also fails behind i_update in the second
    expect(result.outcomes).toEqual({ lock_timeout: 1, lock_not_available: 2 });
    expect(result.findings.map((f) => [f.finding.kind, f.finding.step]).sort()).toEqual([
      ['lock_not_available', 'n_lock'],
      ['lock_timeout', 'i_update'],
    ]);
    const nowait = result.findings.find((f) => f.finding.step === 'n_lock')?.finding;
    expect(nowait?.title).toMatch(
      /^lock not available \(NOWAIT\) \(55P03\) in nowait: could not obtain lock on row/,
    );
    expect(nowait?.fix).toMatch(/SKIP LOCKED/);
    expect(nowait?.fix).not.toMatch(/lock_timeout/);
  });
});

describe('deadlocks are named and advised by their shape', () => {
  it('a lock upgrade names the table, says each holds a weaker lock and wants a stronger one, advises the strongest lock first', async () => {
    const result = await race('lock-upgrade.spec');
    expect(kinds(result)).toEqual(['deadlock']);
    const finding = result.findings[0]?.finding;
    expect(finding?.cycle?.map((e) => [e.waiter, e.mode, e.relation, e.holder])).toEqual([
      ['auditor', 'AccessExclusiveLock', 'ledger', 'clerk'],
      ['clerk', 'AccessExclusiveLock', 'ledger', 'auditor'],
    ]);
    expect(finding?.fix).toMatch(/lock upgrade/);
    expect(finding?.fix).toMatch(/strongest lock/);
    expect(finding?.fix).not.toMatch(/row locks in one consistent order/);
    const text = formatResult(result);
    expect(text).toContain('wait-for cycle (lock upgrade on ledger)');
    expect(text).toContain('auditor holds a weaker lock on ledger and waits for AccessExclusiveLock on it');
    expect(text).not.toMatch(/relation \d+ of database/);
  });
});

describe('anomalies are found by the serial-equivalence oracle, with no annotation', () => {
  it('lost update at READ COMMITTED', async () => {
    const result = await race('lost-update.yaml', { stopAtFirst: true });
    expect(kinds(result)).toEqual(['anomaly']);
  });

  it('write skew under REPEATABLE READ (and the invariant breaks)', async () => {
    const result = await race('write-skew-repeatable-read.yaml', { stopAtFirst: true });
    expect(kinds(result)).toEqual(['anomaly']);
  });

  it('under SERIALIZABLE the same code gets 40001, which is not an anomaly', async () => {
    const result = await race('write-skew-serializable.yaml');
    expect(result.complete).toBe(true);
    expect(result.findings, formatResult(result)).toEqual([]);
    expect(result.outcomes.serialization_failure).toBeGreaterThan(0);
  });

  it('INSERT … WHERE NOT EXISTS duplicates only when released at the same instant', async () => {
    const spec = await loadSpecFile(fixture('insert-where-not-exists.yaml'));
    const sequential = await runRace({ ...spec, overlap: false }, { url: db.url });
    expect(sequential.findings, formatResult(sequential)).toEqual([]);
    const overlapped = await runRace(spec, { url: db.url });
    expect(kinds(overlapped)).toEqual(['anomaly', 'invariant']);
    expect(overlapped.findings[0]?.schedule).toEqual([['first', 'second']]);
  });
});

describe('no false alarm on safe look-alikes', () => {
  it('rows locked in a consistent order', async () => {
    const result = await race('consistent-order.spec');
    expect(result.complete).toBe(true);
    expect(result.findings, formatResult(result)).toEqual([]);
    expect(result.outcomes).toEqual({});
  });

  it('read-modify-write under SELECT … FOR UPDATE', async () => {
    const result = await race('rmw-for-update.yaml');
    expect(result.complete).toBe(true);
    expect(result.findings, formatResult(result)).toEqual([]);
  });
});
