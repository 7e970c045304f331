import { describe, expect, it } from 'vitest';
import type { SqlTags } from '../../../src/core/app-signal.js';
import type { Finding } from '../../../src/core/finding.js';
import { createFindingDetector } from '../../../src/core/finding-detector.js';
import type { DeadlockReport } from '../../../src/core/log-event.js';
import { FakeClock } from '../../support/fake-clock.js';
import { CountingIds, T0, sample, session, wait } from '../../support/sample-builder.js';

/** The app's sqlcommenter tags, read by the adapter, carried onto what findings show of sessions. */
const CHECKOUT: SqlTags = { route: 'POST /checkout', callsite: 'demo/shop/checkout.ts:88', release: 'v2' };
const RESTOCK: SqlTags = { job: 'restock', callsite: 'demo/shop/restock.ts:20' };

const detector = () =>
  createFindingDetector({
    target: 'primary',
    clock: new FakeClock(T0),
    ids: new CountingIds(),
    thresholds: {},
  });

const byKind = <K extends Finding['kind']>(
  findings: readonly Finding[],
  kind: K,
): Extract<Finding, { kind: K }>[] =>
  findings.filter((f): f is Extract<Finding, { kind: K }> => f.kind === kind);

describe('sqlcommenter tags on findings', () => {
  it('a live cycle carries each side’s tags; the log report’s own win, the live ones fill what it cut', () => {
    const d = detector();
    const cycle = sample(T0, {
      sessions: [
        session(10, { query: 'UPDATE inventory SET n = n - $1 WHERE id = $2', tags: CHECKOUT }),
        session(11, { query: 'UPDATE products SET n = n + $1 WHERE id = $2', tags: RESTOCK }),
      ],
      lockWaits: [wait(10, [11]), wait(11, [10])],
    });
    const [live] = byKind(d.onSample(cycle), 'deadlock');
    expect(live?.processes.map((p) => [p.pid, p.tags])).toEqual([
      [10, CHECKOUT],
      [11, RESTOCK],
    ]);
    const report: DeadlockReport = {
      at: T0 + 500,
      victimPid: 11,
      database: 'shop',
      processes: [
        // Its comment was cut off in the DETAIL: no tags from the log.
        {
          pid: 10,
          waitsForMode: 'ShareLock',
          waitsForObject: 'transaction 7',
          relation: null,
          blockedBy: 11,
          query: 'UPDATE inventory SET n = n - $1 WHERE id = $2',
        },
        {
          pid: 11,
          waitsForMode: 'ShareLock',
          waitsForObject: 'transaction 6',
          relation: null,
          blockedBy: 10,
          query: 'UPDATE products SET n = n + $1 WHERE id = $2',
          tags: { ...RESTOCK, release: 'v3' },
        },
      ],
    };
    const [logged] = byKind(d.onDeadlockReport(report), 'deadlock');
    expect(logged?.id).toBe(live?.id);
    expect(logged?.processes.map((p) => [p.pid, p.tags])).toEqual([
      [10, CHECKOUT],
      [11, { ...RESTOCK, release: 'v3' }],
    ]);
  });

  it('a blocking episode’s root and victims, and an idle transaction, carry their statements’ tags', () => {
    const d = detector();
    const blocked = (at: number, victimQuery: string | null) =>
      sample(at, {
        sessions: [
          session(100, {
            state: 'idle in transaction',
            xactStart: T0 - 40_000,
            stateChange: T0 - 35_000,
            query: 'UPDATE inventory SET n = $1',
            tags: RESTOCK,
          }),
          session(101, victimQuery === null ? { query: null } : { query: victimQuery, tags: CHECKOUT }),
          session(102, { query: 'SELECT $1' }),
        ],
        lockWaits: [wait(101, [100]), wait(102, [100])],
      });
    const first = d.onSample(blocked(T0, 'UPDATE inventory SET n = n - $1'));
    expect(byKind(first, 'idle_in_transaction').map((f) => f.tags)).toEqual([RESTOCK]);
    const [open] = byKind(
      d.onSample(blocked(T0 + 1_500, 'UPDATE inventory SET n = n - $1')),
      'blocking_episode',
    );
    expect(open?.roots.map((r) => r.tags)).toEqual([RESTOCK]);
    // A session without tags shows none (no empty object).
    expect(open?.victims.map((v) => [v.pid, v.tags])).toEqual([
      [101, CHECKOUT],
      [102, undefined],
    ]);
    expect(open?.victims.find((v) => v.pid === 102)).not.toHaveProperty('tags');
    // A later sample that lost the victim's text keeps its last statement and that statement's tags.
    d.onSample(blocked(T0 + 2_000, null));
    const [closed] = byKind(d.onSample(sample(T0 + 2_500, { sessions: [] })), 'blocking_episode');
    expect(closed?.victims.find((v) => v.pid === 101)).toMatchObject({
      query: 'UPDATE inventory SET n = n - $1',
      tags: CHECKOUT,
    });
  });

  it('a long transaction carries its statement’s tags', () => {
    const d = createFindingDetector({
      target: 'primary',
      clock: new FakeClock(T0),
      ids: new CountingIds(),
      thresholds: { longTransactionMs: 1_000 },
    });
    const [long] = byKind(
      d.onSample(sample(T0, { sessions: [session(7, { xactStart: T0 - 5_000, tags: CHECKOUT })] })),
      'long_transaction',
    );
    expect(long?.tags).toEqual(CHECKOUT);
  });
});
