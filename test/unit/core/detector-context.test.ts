import { describe, expect, it } from 'vitest';
import type { BlockingEpisodeFinding } from '../../../src/core/finding.js';
import { ageAt } from '../../../src/core/detector-context.js';
import { createFindingDetector } from '../../../src/core/finding-detector.js';
import { FakeClock } from '../../support/fake-clock.js';
import { CountingIds, T0, sample, session, wait } from '../../support/sample-builder.js';

describe('ages against the server clock', () => {
  it('are whole milliseconds, though the server clock has microseconds', () => {
    expect(ageAt({ ...sample(T0), serverNow: T0 + 0.113 }, T0 - 5_000)).toBe(5_000);
    expect(ageAt({ ...sample(T0), serverNow: T0 + 0.613 }, T0 - 5_000)).toBe(5_001);
    expect(ageAt(sample(T0), null)).toBeNull();
  });

  it('so a blocking episode starts on a whole millisecond (the PostgreSQL store keeps times as bigint)', () => {
    const detector = createFindingDetector({
      target: 'primary',
      clock: new FakeClock(T0),
      ids: new CountingIds(),
      thresholds: {},
    });
    const found = detector.onSample({
      ...sample(T0, {
        sessions: [session(10), session(11, { waitEventType: 'Lock', waitEvent: 'transactionid' })],
        lockWaits: [wait(11, [10], { waitStart: T0 - 3_000 })],
      }),
      serverNow: T0 + 0.113,
    });
    const episode = found.find((f): f is BlockingEpisodeFinding => f.kind === 'blocking_episode');
    expect(episode?.startedAt).toBe(T0 - 3_000);
    expect(Number.isInteger(episode?.startedAt)).toBe(true);
  });
});
