import { describe, expect, it } from 'vitest';
import { readRollups } from '../../../src/app/app-side-reader.js';
import type { RouteRollup } from '../../../src/core/app-signal.js';
import type { RollupQuery, SignalRepository } from '../../../src/core/incident-store.js';
import { MAX_ROLLUP_LIMIT } from '../../../src/core/incident-store.js';
import { rollup } from '../../support/rollup-builder.js';

/** A signal store that answers `list` as the adapters do (oldest bucket first, at most `limit`), and counts the calls. */
const fakeSignals = (rows: readonly RouteRollup[]): SignalRepository & { calls: number } => {
  const sorted = [...rows].sort(
    (a, b) => a.bucket - b.bucket || (a.route < b.route ? -1 : a.route > b.route ? 1 : 0),
  );
  const repo = {
    calls: 0,
    merge: () => Promise.resolve(),
    prune: () => Promise.resolve(0),
    list: (q: RollupQuery) => {
      repo.calls += 1;
      const hits = sorted.filter((r) => r.bucket >= q.since && (q.until === undefined || r.bucket < q.until));
      return Promise.resolve(hits.slice(0, q.limit ?? 10_000));
    },
  };
  return repo;
};

describe('readRollups', () => {
  it("reads past the store's row limit, every rollup once, a bucket never split between pages", async () => {
    // 7 routes × 20,000 buckets = 140,000 rollups: pages end in the middle of a bucket.
    const rows = Array.from({ length: 20_000 }, (_, b) =>
      Array.from({ length: 7 }, (_, r) => rollup(b * 10_000, { route: `/r${r}` })),
    ).flat();
    const signals = fakeSignals(rows);
    const read = await readRollups(signals, { since: 0 });
    expect(read).toHaveLength(rows.length);
    expect(new Set(read.map((r) => `${r.route}@${r.bucket}`)).size).toBe(rows.length);
    expect(signals.calls).toBe(3);
  });

  it('takes a bucket bigger than a page as it is and moves on', async () => {
    const rows = [
      ...Array.from({ length: MAX_ROLLUP_LIMIT + 5 }, (_, r) =>
        rollup(0, { route: `/r${String(r).padStart(6, '0')}` }),
      ),
      rollup(10_000),
    ];
    const read = await readRollups(fakeSignals(rows), { since: 0 });
    expect(read).toHaveLength(MAX_ROLLUP_LIMIT + 1);
    expect(read[read.length - 1]?.bucket).toBe(10_000);
  });
});
