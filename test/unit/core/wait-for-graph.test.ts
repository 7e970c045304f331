import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LockWait } from '../../../src/core/sample.js';
import { buildWaitForGraph } from '../../../src/core/wait-for-graph.js';
import { wait } from '../../support/sample-builder.js';

describe('buildWaitForGraph', () => {
  it('finds the idle root of five waiters, some behind another waiter', () => {
    const graph = buildWaitForGraph([
      wait(101, [100]),
      wait(102, [100]),
      wait(103, [101], { lockType: 'tuple', mode: 'ExclusiveLock', relation: 'public.accounts' }),
      wait(104, [101], { lockType: 'tuple', mode: 'ExclusiveLock', relation: 'public.accounts' }),
      wait(105, [102]),
    ]);
    expect(graph.roots).toEqual([{ pid: 100, waiterCount: 5 }]);
    expect(graph.waiters).toEqual([101, 102, 103, 104, 105]);
    expect([...graph.depthOf]).toEqual([
      [101, 1],
      [102, 1],
      [103, 2],
      [104, 2],
      [105, 2],
    ]);
    for (const pid of graph.waiters) expect(graph.rootsOf.get(pid)).toEqual([100]);
    expect(graph.cycles).toEqual([]);
    expect(graph.queueOnly.size).toBe(0);
  });

  it('makes the long SELECT the root of an ALTER TABLE queue, the ALTER a queue-only waiter', () => {
    const onOrders = { lockType: 'relation', relation: 'public.orders', relationOid: 16400 };
    const graph = buildWaitForGraph([
      wait(201, [200], { ...onOrders, mode: 'AccessExclusiveLock' }),
      wait(202, [201], { ...onOrders, mode: 'AccessShareLock' }),
      wait(203, [201], { ...onOrders, mode: 'AccessShareLock' }),
    ]);
    expect(graph.roots).toEqual([{ pid: 200, waiterCount: 3 }]);
    expect(graph.queueOnly).toEqual(new Set([201]));
    expect(graph.edges).toEqual([
      { waiter: 201, blocker: 200, queued: false },
      { waiter: 202, blocker: 201, queued: true },
      { waiter: 203, blocker: 201, queued: true },
    ]);
    expect(graph.depthOf.get(203)).toBe(2);
  });

  it('does not call a waiter queue-only when it holds what others wait for', () => {
    // 11 holds the row (others wait on its transaction id) while it waits on 10's row.
    const graph = buildWaitForGraph([wait(11, [10]), wait(12, [11]), wait(13, [11, 12])]);
    expect(graph.queueOnly.size).toBe(0);
    expect(graph.depthOf.get(13)).toBe(3);
  });

  it('sees a deadlock as a cycle, with the waiters behind it reaching no root', () => {
    const graph = buildWaitForGraph([wait(300, [301]), wait(301, [300]), wait(302, [300]), wait(303, [])]);
    expect(graph.cycles).toEqual([[300, 301]]);
    expect(graph.roots).toEqual([]);
    expect(graph.rootsOf.get(302)).toEqual([]);
    expect(graph.depthOf.has(302)).toBe(false);
    expect(graph.unattributed).toEqual([303]);
  });

  it('keeps disjoint chains apart', () => {
    const graph = buildWaitForGraph([wait(2, [1]), wait(4, [3]), wait(5, [4, 1])]);
    expect(graph.roots).toEqual([
      { pid: 1, waiterCount: 2 },
      { pid: 3, waiterCount: 2 },
    ]);
    expect(graph.rootsOf.get(5)).toEqual([1, 3]);
  });

  it('handles a 5,000-long chain without recursion trouble', () => {
    const waits = Array.from({ length: 5000 }, (_, i) => wait(i + 2, [i + 1]));
    const graph = buildWaitForGraph(waits);
    expect(graph.depthOf.get(5001)).toBe(5000);
    expect(graph.roots).toEqual([{ pid: 1, waiterCount: 5000 }]);
  });
});

const lockWaits = fc
  .uniqueArray(fc.integer({ min: 1, max: 12 }), { maxLength: 10 })
  .chain((pids) =>
    fc.tuple(
      ...pids.map((pid) =>
        fc
          .uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 })
          .map((by) => wait(pid, by)),
      ),
    ),
  )
  .map((waits): LockWait[] => waits);

/** Brute force: everyone `pid` waits on, directly or not. */
const reachable = (waits: readonly LockWait[], pid: number): Set<number> => {
  const next = new Map(waits.map((w) => [w.pid, w.blockedBy.filter((b) => b !== w.pid)]));
  const seen = new Set<number>();
  const todo = [...(next.get(pid) ?? [])];
  for (let node = todo.pop(); node !== undefined; node = todo.pop()) {
    if (seen.has(node)) continue;
    seen.add(node);
    todo.push(...(next.get(node) ?? []));
  }
  return seen;
};

describe('buildWaitForGraph properties', () => {
  it('roots never wait; every waiter reaches its roots or a cycle; cycles are exactly the self-reachable', () => {
    fc.assert(
      fc.property(lockWaits, (waits) => {
        const graph = buildWaitForGraph(waits);
        const waiting = new Set(waits.filter((w) => w.blockedBy.some((b) => b !== w.pid)).map((w) => w.pid));
        for (const root of graph.roots) expect(waiting.has(root.pid)).toBe(false);
        const inCycle = new Set(graph.cycles.flat());
        expect(inCycle).toEqual(new Set([...waiting].filter((pid) => reachable(waits, pid).has(pid))));
        for (const pid of waiting) {
          const reach = reachable(waits, pid);
          const roots = [...reach].filter((p) => !waiting.has(p)).sort((a, b) => a - b);
          expect(graph.rootsOf.get(pid)).toEqual(roots);
          expect(roots.length > 0 || [...reach].some((p) => inCycle.has(p))).toBe(true);
          expect(graph.depthOf.has(pid)).toBe(roots.length > 0);
        }
        for (const root of graph.roots) {
          expect(root.waiterCount).toBe(
            [...waiting].filter((pid) => graph.rootsOf.get(pid)?.includes(root.pid)).length,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('depth is the longest path to a root when there is no cycle', () => {
    fc.assert(
      fc.property(lockWaits, (waits) => {
        const graph = buildWaitForGraph(waits);
        fc.pre(graph.cycles.length === 0);
        const next = new Map(waits.map((w) => [w.pid, w.blockedBy.filter((b) => b !== w.pid)]));
        const longest = (pid: number): number =>
          Math.max(0, ...(next.get(pid) ?? []).map((b) => longest(b) + 1));
        for (const pid of graph.waiters) expect(graph.depthOf.get(pid)).toBe(longest(pid));
      }),
      { numRuns: 200 },
    );
  });
});
