import { describe, expect, it } from 'vitest';
import { isLockUpgrade, parseDeadlockDetail } from '../../../src/race/race-finding.js';
import { victimIsUnstable } from '../../../src/race/schedule-runner.js';
import { permutations, serialOrderOf } from '../../../src/race/serial-oracle.js';
import { isSingleTransaction } from '../../../src/race/serial-oracle.js';
import { inferSetup } from '../../../src/race/schema-inference.js';
import type { TraceEvent } from '../../../src/race/step-result.js';

const ev = (seq: number, session: string, kind: TraceEvent['kind'], code?: string): TraceEvent => ({
  seq,
  at: seq,
  session,
  step: `${session}.${seq}`,
  sql: 'UPDATE',
  kind,
  ...(code ? { code } : {}),
});

describe('deadlock report', () => {
  it('turns PostgreSQL’s DETAIL into edges between sessions', () => {
    const detail =
      'Process 12 waits for ShareLock on transaction 746; blocked by process 13.\nProcess 13 waits for ShareLock on transaction 745; blocked by process 12.\nProcess 12: UPDATE t\nProcess 13: UPDATE t';
    expect(
      parseDeadlockDetail(
        detail,
        new Map([
          [12, 'a'],
          [13, 'b'],
        ]),
      ),
    ).toEqual([
      { waiter: 'a', lock: 'ShareLock on transaction 746', holder: 'b', mode: 'ShareLock' },
      { waiter: 'b', lock: 'ShareLock on transaction 745', holder: 'a', mode: 'ShareLock' },
    ]);
  });

  it('names relations and tells a lock upgrade from a cycle over several tables', () => {
    const upgrade =
      'Process 12 waits for AccessExclusiveLock on relation 16385 of database 5; blocked by process 13.\nProcess 13 waits for AccessExclusiveLock on relation 16385 of database 5; blocked by process 12.';
    const edges = parseDeadlockDetail(
      upgrade,
      new Map([
        [12, 'a'],
        [13, 'b'],
      ]),
      new Map([[16385, 'ledger']]),
    );
    expect(edges[0]).toEqual({
      waiter: 'a',
      lock: 'AccessExclusiveLock on ledger',
      holder: 'b',
      mode: 'AccessExclusiveLock',
      relation: 'ledger',
    });
    expect(isLockUpgrade(edges)).toBe(true);
    const tables = upgrade.replace(
      'relation 16385 of database 5; blocked by process 12',
      'relation 16390 of database 5; blocked by process 12',
    );
    const two = parseDeadlockDetail(
      tables,
      new Map([
        [12, 'a'],
        [13, 'b'],
      ]),
      new Map([[16385, 'ledger']]),
    );
    expect(two.map((e) => e.relation)).toEqual(['ledger', 'relation 16390']);
    expect(isLockUpgrade(two)).toBe(false);
  });

  it('knows when the victim was not the statement that closed the cycle', () => {
    const ok = [
      ev(1, 'a', 'start'),
      ev(2, 'a', 'waits'),
      ev(3, 'b', 'start'),
      ev(4, 'b', 'waits'),
      ev(5, 'b', 'error', '40P01'),
    ];
    expect(victimIsUnstable(ok)).toBe(false);
    const wrong = [
      ev(1, 'a', 'start'),
      ev(2, 'a', 'waits'),
      ev(3, 'b', 'start'),
      ev(4, 'b', 'waits'),
      ev(5, 'a', 'error', '40P01'),
    ];
    expect(victimIsUnstable(wrong)).toBe(true);
  });
});

describe('serial oracle helpers', () => {
  it('enumerates serial orders', () => {
    expect(permutations(['a', 'b', 'c']).map((p) => p.join(''))).toEqual([
      'abc',
      'acb',
      'bac',
      'bca',
      'cab',
      'cba',
    ]);
  });

  it('recognises a schedule that is itself serial', () => {
    const run = (keys: string[]) => ({ decisions: keys.map((k) => ({ movable: [], choice: k.split('+') })) });
    expect(serialOrderOf(run(['b', 'b', 'a', 'a']))).toEqual(['b', 'a']);
    expect(serialOrderOf(run(['a', 'b', 'a']))).toBeUndefined();
    expect(serialOrderOf(run(['a+b']))).toBeUndefined();
  });

  it('applies to sessions that are one transaction', () => {
    const session = (setup: string[], steps: string[]) => ({
      name: 's',
      setup,
      teardown: [],
      steps: steps.map((sql, i) => ({ name: `s${i}`, sql })),
    });
    expect(isSingleTransaction(session(['BEGIN;'], ['UPDATE t', 'COMMIT;']))).toBe(true);
    expect(isSingleTransaction(session([], ['INSERT INTO t SELECT 1']))).toBe(true);
    expect(isSingleTransaction(session([], ['UPDATE t', 'UPDATE u']))).toBe(false);
    expect(isSingleTransaction(session(['BEGIN;'], ['COMMIT;', 'BEGIN;', 'UPDATE t', 'COMMIT;']))).toBe(
      false,
    );
  });
});

describe('inferSetup', () => {
  it('creates the tables and rows that simple statements touch', () => {
    const setup = inferSetup([
      'UPDATE accounts SET balance = balance + 10 WHERE id = 1',
      "DELETE FROM users WHERE email = 'a@b'",
    ]);
    expect(setup.complete).toBe(true);
    expect(setup.sql).toContain(
      'CREATE TABLE accounts (balance numeric NOT NULL DEFAULT 0, id bigint PRIMARY KEY);',
    );
    expect(setup.sql).toContain('INSERT INTO accounts (id) VALUES (1);');
    expect(setup.sql).toContain("INSERT INTO users (email) VALUES ('a@b');");
  });

  it('says when a person has to complete it', () => {
    expect(inferSetup(['CALL do_things()']).complete).toBe(false);
  });
});
