import { describe, expect, it } from 'vitest';
import { formatResult, resultsToJunit, sessionSwitches, timeline } from '../../../src/race/race-report.js';
import type { RaceResult } from '../../../src/race/race-runner.js';
import type { RaceSpec } from '../../../src/race/race-spec.js';
import type { TraceEvent } from '../../../src/race/step-result.js';

const e = (
  seq: number,
  session: string,
  step: string,
  kind: TraceEvent['kind'],
  extra: Partial<TraceEvent> = {},
): TraceEvent => ({
  seq,
  at: seq,
  session,
  step,
  sql: `UPDATE t SET n = n + 1 WHERE id = ${step.endsWith('1') ? 1 : 2}`,
  kind,
  ...extra,
});

const events: TraceEvent[] = [
  e(1, 'a', 'a.1', 'start'),
  e(2, 'a', 'a.1', 'done', { command: 'UPDATE' }),
  e(3, 'b', 'b.1', 'start'),
  e(4, 'b', 'b.1', 'done', { command: 'UPDATE' }),
  e(5, 'a', 'a.2', 'start'),
  e(6, 'a', 'a.2', 'waits', { waitsFor: ['b'] }),
  e(7, 'b', 'b.2', 'start'),
  e(8, 'b', 'b.2', 'waits', { waitsFor: ['a'] }),
  e(9, 'b', 'b.2', 'error', { code: '40P01', message: 'deadlock detected' }),
  e(10, 'a', 'a.2', 'done', { command: 'UPDATE' }),
];

const spec: RaceSpec = {
  name: 'transfer',
  format: 'yaml',
  setup: [],
  teardown: [],
  sessions: ['a', 'b'].map((name) => ({ name, setup: [], teardown: [], steps: [] })),
  permutations: [],
  invariants: [],
  allow: [],
  overlap: false,
};

const result: RaceResult = {
  spec: 'transfer <&>',
  strategy: 'exhaustive',
  schedules: 3,
  complete: true,
  seed: 1,
  oracle: 'serial-equivalence oracle on',
  durationMs: 120,
  outcomes: { deadlock: 1 },
  raceCancels: [],
  explored: [],
  findings: [
    {
      finding: {
        kind: 'deadlock',
        signature: 'deadlock',
        title: 'deadlock (40P01) in b: deadlock detected',
        session: 'b',
        step: 'b.2',
        code: '40P01',
        cycle: [
          { waiter: 'a', lock: 'ShareLock on transaction 2', holder: 'b' },
          { waiter: 'b', lock: 'ShareLock on transaction 1', holder: 'a' },
        ],
        fix: 'Take row locks in one consistent order',
        run: {
          decisions: [
            { movable: ['a', 'b'], choice: ['a'] },
            { movable: ['a', 'b'], choice: ['b'] },
            { movable: ['a', 'b'], choice: ['a'] },
            { movable: ['b'], choice: ['b'] },
          ],
          events,
          committed: ['a'],
          invariantFailures: [],
          snapshot: '',
          stalls: [],
          diverged: false,
          unstableVictim: false,
        },
      },
      schedule: [['a'], ['b'], ['a'], ['b']],
      originalSchedule: [['a'], ['b'], ['a'], ['b']],
      spec,
      removedSteps: [],
    },
  ],
};

describe('race report', () => {
  it('draws one column per session with waiting markers', () => {
    const lines = timeline(events, ['a', 'b']);
    expect(lines[0]).toMatch(/^ {3}# {2}a +b$/);
    const waitLine = lines.find((l) => l.includes('⏳ waits for b'));
    expect(waitLine).toMatch(/^ {3}3 {2}a\.2: /); // a's column starts right after the row number
    const errorLine = lines.find((l) => l.includes('40P01'));
    expect(errorLine?.indexOf('✗')).toBeGreaterThan(40); // in b's column
    expect(lines.some((l) => l.includes('↳ a.2 done after waiting'))).toBe(true);
    expect(lines).toContain('    a.2: UPDATE t SET n = n + 1 WHERE id = 2');
  });

  it('prints the cycle, the victim, the fix and how to replay', () => {
    const text = formatResult(result);
    expect(text).toContain('wait-for cycle: a → b → a');
    expect(text).toContain('victim: b');
    expect(text).toContain('suggested fix: Take row locks in one consistent order');
    expect(text).toContain('replay: --schedule "a b a b"');
    expect(text).toContain('outcomes seen: deadlock ×1');
  });

  it('writes JUnit XML with a failure per finding, escaped', () => {
    const xml = resultsToJunit([result, { ...result, spec: 'clean', findings: [] }]);
    expect(xml).toContain('<testsuite name="hindsight race" tests="2" failures="1">');
    expect(xml).toContain('name="transfer &lt;&amp;&gt;"');
    expect(xml).toContain('<failure type="deadlock" message="deadlock (40P01) in b: deadlock detected">');
    expect(xml).toContain('<testcase classname="hindsight.race" name="clean" time="0.120"></testcase>');
  });

  it('counts every switch between sessions, and says how many were preemptive', () => {
    const schedule = ['b', 'a', 'a', 'b', 'b', 'a'].map((x) => [x]);
    expect(sessionSwitches(schedule)).toBe(3);
    const base = result.findings[0];
    if (!base) throw new Error('no finding');
    const decisions = schedule.map((choice, i) => ({ movable: i === 3 ? ['b'] : ['a', 'b'], choice }));
    const text = formatResult({
      ...result,
      findings: [
        {
          ...base,
          schedule,
          originalSchedule: schedule,
          finding: { ...base.finding, run: { ...base.finding.run, decisions } },
        },
      ],
    });
    expect(text).toContain(
      '3 switches between sessions (2 preemptive: a session that could still move was set aside): b a a b b a',
    );
    expect(text).not.toContain('1 context switch(es)');
  });

  it('shows a lost update as the final state against each serial order (actual vs expected rows)', () => {
    const base = result.findings[0];
    if (!base) throw new Error('no finding');
    const row = (qty: number): string => `{"id": 1, "qty": ${qty}}`;
    const text = formatResult({
      ...result,
      findings: [
        {
          ...base,
          finding: {
            ...base.finding,
            kind: 'anomaly',
            title:
              'the final state equals no serial order of the committed sessions (a, b): a lost update or write skew',
            cycle: [],
            state: {
              actual: `public.stock\n${row(9)}`,
              expected: [
                { order: ['a', 'b'], snapshot: `public.stock\n${row(8)}` },
                { order: ['b', 'a'], snapshot: `public.stock\n${row(8)}` },
              ],
            },
          },
        },
      ],
    });
    expect(text).toContain(
      'final state against the serial expectation (− expected in that order, + actual):',
    );
    expect(text).toContain(`    serially a then b:\n     public.stock\n      − ${row(8)}\n      + ${row(9)}`);
    expect(text).toContain('    serially b then a:');
  });
});
