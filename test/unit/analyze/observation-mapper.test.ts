import { describe, expect, it } from 'vitest';
import { observe } from '../../../src/analyze/observation-mapper.js';
import { inferSqlstate, normalizeErrorMessage } from '../../../src/analyze/sqlstate-inference.js';
import type { LogEvent } from '../../../src/core/log-event.js';
import { logEvent } from '../../support/sample-builder.js';

const event = (fields: Partial<LogEvent>): LogEvent =>
  logEvent({ at: 1_000, pid: 7, user: 'app', database: 'shop', application: 'checkout', ...fields });

describe('observe', () => {
  it('reads a lock wait with its holders and wait queue (one holder, several holders)', () => {
    expect(
      observe(
        event({
          message: 'process 7 still waiting for ShareLock on transaction 759 after 50.123 ms',
          detail: 'Process holding the lock: 12. Wait queue: 7, 9.',
          context: 'while updating tuple (0,1) in relation "products"',
        }),
      ),
    ).toMatchObject({
      kind: 'lock-wait-started',
      mode: 'ShareLock',
      object: 'transaction 759',
      afterMs: 50.123,
      holders: [12],
      queue: [7, 9],
      relation: 'products',
    });
    expect(
      observe(
        event({
          message:
            'process 7 still waiting for AccessExclusiveLock on relation 16385 of database 5 after 1000.000 ms',
          detail: 'Processes holding the lock: 3, 4. Wait queue: 7.',
        }),
      ),
    ).toMatchObject({ holders: [3, 4], queue: [7] });
    expect(
      observe(event({ message: 'process 7 acquired ShareLock on transaction 759 after 412.5 ms' })),
    ).toMatchObject({ kind: 'lock-wait-ended', ending: 'acquired', afterMs: 412.5 });
  });

  it('reads durations of statements and of executions with their parameters, not parse/bind', () => {
    expect(
      observe(
        event({
          message: 'duration: 1.5 ms  execute stock: SELECT 1 WHERE $1',
          detail: "Parameters: $1 = 'x'",
        }),
      ),
    ).toMatchObject({
      kind: 'duration',
      durationMs: 1.5,
      statement: 'SELECT 1 WHERE $1',
      parameters: "$1 = 'x'",
    });
    expect(observe(event({ message: 'duration: 0.2 ms  statement: SELECT 2' }))).toMatchObject({
      kind: 'duration',
      statement: 'SELECT 2',
      parameters: null,
    });
    expect(observe(event({ message: 'duration: 0.2 ms  bind stock: SELECT 1' })).kind).toBe('other');
    expect(observe(event({ message: 'duration: 0.2 ms' })).kind).toBe('other');
  });

  it('takes deadlock reports from the shared interpreter, multi-line statements included', () => {
    const detail =
      'Process 1 waits for ShareLock on transaction 5; blocked by process 2.\nProcess 2 waits for ShareLock on transaction 4; blocked by process 1.\nProcess 1: UPDATE a\n   SET x = 1\nProcess 2: UPDATE b SET y = 2';
    const observed = observe(event({ severity: 'ERROR', message: 'deadlock detected', detail, pid: 1 }));
    expect(
      observed.kind === 'deadlock' ? observed.report.processes.map((p) => [p.pid, p.blockedBy]) : null,
    ).toEqual([
      [1, 2],
      [2, 1],
    ]);
    expect(observed.kind === 'deadlock' ? observed.statements.get(1) : null).toBe('UPDATE a\n   SET x = 1');
    expect(observe(event({ severity: 'ERROR', message: 'deadlock detected', detail, pid: 1 }))).toMatchObject(
      { kind: 'deadlock', report: { victimPid: 1 } },
    );
  });

  it('infers SQLSTATEs stderr logs without %e do not carry, and groups messages without their data', () => {
    expect(inferSqlstate('canceling statement due to lock timeout')).toBe('55P03');
    expect(inferSqlstate('column "x" does not exist at character 12')).toBe('42703');
    expect(inferSqlstate('something new')).toBeNull();
    expect(normalizeErrorMessage('invalid input syntax for type integer: "abc"')).toBe(
      'invalid input syntax for type integer: "…"',
    );
    expect(normalizeErrorMessage('value 123 out of range at character 9')).toBe('value N out of range');
  });
});
