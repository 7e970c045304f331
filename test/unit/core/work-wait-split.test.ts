import { describe, expect, it } from 'vitest';
import {
  describeWorkWaitSplit,
  lockWaitShare,
  splitWorkAndWaits,
  workingShare,
} from '../../../src/core/work-wait-split.js';
import { T0, sample, session, wait } from '../../support/sample-builder.js';

describe('splitWorkAndWaits', () => {
  // The seed's picture: one session holds the row (idle in transaction), most active backends
  // wait behind it, a few burn CPU, one reads.
  const storm = sample(T0, {
    sessions: [
      session(4242, { state: 'idle in transaction' }),
      ...[1, 2, 3, 4, 5, 6, 7].map((i) =>
        session(100 + i, { waitEventType: 'Lock', waitEvent: 'transactionid' }),
      ),
      session(200, { waitEventType: 'Lock', waitEvent: 'relation' }),
      session(300),
      session(301),
      session(302, { waitEventType: 'IO', waitEvent: 'DataFileRead' }),
      session(303, { waitEventType: 'LWLock', waitEvent: 'WALWrite' }),
      session(400, { state: 'idle' }),
      session(500, { backendType: 'autovacuum worker' }),
    ],
    lockWaits: [
      ...[1, 2, 3, 4, 5, 6].map((i) => wait(100 + i, [4242])),
      // 107 waits behind 101: still 4242's victim, through another waiter.
      wait(107, [101]),
      wait(200, [300], { lockType: 'relation', mode: 'AccessExclusiveLock' }),
    ],
  });

  it('counts active client backends by what they do, and the roots the lock waiters are behind', () => {
    const split = splitWorkAndWaits(storm);
    expect(split).toEqual({
      active: 12,
      lockWaiting: 8,
      onCpu: 2,
      io: 1,
      otherWait: 1,
      behind: [
        { pid: 4242, waiters: 7 },
        { pid: 300, waiters: 1 },
      ],
    });
    expect(lockWaitShare(split)).toBeCloseTo(8 / 12);
    expect(workingShare(split)).toBeCloseTo(3 / 12);
    expect(describeWorkWaitSplit(split)).toBe(
      '67% of active backends waited on locks behind pid 4242 (7) and 1 other root; the slow queries are victims',
    );
  });

  it('leads with the host CPU when it was read: the seed’s "high CPU" told apart from waiting', () => {
    expect(describeWorkWaitSplit(splitWorkAndWaits(storm), { cpuBusy: 0.91 })).toBe(
      'CPU 91%; 67% of active backends waited on locks behind pid 4242 (7) and 1 other root; the slow queries are victims',
    );
  });

  it('says the backends are working when none waits on a lock', () => {
    const split = splitWorkAndWaits(
      sample(T0, { sessions: [session(1), session(2, { waitEventType: 'IO' })] }),
    );
    expect(lockWaitShare(split)).toBe(0);
    expect(workingShare(split)).toBe(1);
    expect(describeWorkWaitSplit(split)).toBe(
      '2 active backends working (1 on CPU, 1 in IO); none waited on locks',
    );
  });

  it('gives no verdict of victims when lock waiters are the minority', () => {
    const split = splitWorkAndWaits(
      sample(T0, {
        sessions: [
          session(1),
          session(2),
          session(3),
          session(9, { waitEventType: 'Lock' }),
          session(8, { state: 'idle in transaction' }),
        ],
        lockWaits: [wait(9, [8])],
      }),
    );
    expect(describeWorkWaitSplit(split)).toBe(
      '25% of active backends waited on locks behind pid 8; 75% were working',
    );
  });

  it('is empty with no active backend', () => {
    const split = splitWorkAndWaits(sample(T0, { sessions: [session(1, { state: 'idle' })] }));
    expect(split.active).toBe(0);
    expect(lockWaitShare(split)).toBe(0);
    expect(describeWorkWaitSplit(split)).toBe('no active backends');
  });
});
