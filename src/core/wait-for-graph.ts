import type { LockWait } from './sample.js';

/**
 * The wait-for graph of one sample, from `pg_blocking_pids()`: an edge waiter → blocker for each
 * pid a waiter waits on. `pg_blocking_pids` names both holders of conflicting locks and waiters
 * ahead in the lock queue, so an `ALTER TABLE` queued behind a long `SELECT` appears as the
 * blocker of every later `SELECT`: it is an intermediate node, the `SELECT` is the root.
 */
export interface WaitForGraph {
  /** Each (waiter, blocker) pair once, in the order of the lock waits. */
  readonly edges: readonly GraphEdge[];
  /** Waiting pids that wait on someone, in the order of the lock waits. */
  readonly waiters: readonly number[];
  /** Waiting pids for which `pg_blocking_pids` was empty (just granted, or the blocker left). */
  readonly unattributed: readonly number[];
  /** Blockers that wait on nobody, by pid. */
  readonly roots: readonly GraphRoot[];
  /** For each waiter: the roots it reaches, directly or through other waiters (sorted). */
  readonly rootsOf: ReadonlyMap<number, readonly number[]>;
  /** For each waiter that reaches a root: the longest path to one, in edges (1 = blocked by a root). */
  readonly depthOf: ReadonlyMap<number, number>;
  /** Pid sets (sorted) that wait on each other in a circle: a deadlock seen live. */
  readonly cycles: readonly (readonly number[])[];
  /** Waiters that block others only by being ahead of them in a lock queue (see `queued`). */
  readonly queueOnly: ReadonlySet<number>;
}

export interface GraphEdge {
  readonly waiter: number;
  readonly blocker: number;
  /**
   * The blocker itself waits for the same relation lock: it blocks the waiter by its queue
   * position, not by a lock it holds (the `ALTER TABLE` in front of later `SELECT`s).
   */
  readonly queued: boolean;
}

export interface GraphRoot {
  readonly pid: number;
  /** Waiters that reach it, directly or through others. */
  readonly waiterCount: number;
}

/** Two waits on the same relation-level lock: the only case where queue position is certain. */
const sameRelationLock = (a: LockWait, b: LockWait): boolean =>
  a.lockType === 'relation' &&
  b.lockType === 'relation' &&
  (a.relationOid !== undefined && b.relationOid !== undefined
    ? a.relationOid === b.relationOid
    : a.relation !== null && a.relation === b.relation);

/** Strongly connected components (Tarjan), iterative so long chains cannot overflow the stack. */
const stronglyConnected = (
  nodes: readonly number[],
  next: ReadonlyMap<number, readonly number[]>,
): number[][] => {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: number; child: number }[] = [{ node: start, child: 0 }];
    index.set(start, counter);
    low.set(start, counter);
    counter += 1;
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (frame === undefined) break;
      const children = next.get(frame.node) ?? [];
      const child = children[frame.child];
      if (child !== undefined) {
        frame.child += 1;
        if (!index.has(child)) {
          index.set(child, counter);
          low.set(child, counter);
          counter += 1;
          stack.push(child);
          onStack.add(child);
          work.push({ node: child, child: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.node, Math.min(low.get(frame.node) ?? 0, index.get(child) ?? 0));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined)
        low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(frame.node) ?? 0));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: number[] = [];
        for (;;) {
          const member = stack.pop();
          if (member === undefined) break;
          onStack.delete(member);
          component.push(member);
          if (member === frame.node) break;
        }
        components.push(component);
      }
    }
  }
  return components;
};

export const buildWaitForGraph = (lockWaits: readonly LockWait[]): WaitForGraph => {
  // A backend waits on one lock at a time; merge duplicates defensively.
  const waitOf = new Map<number, LockWait>();
  const blockersOf = new Map<number, number[]>();
  for (const wait of lockWaits) {
    if (!waitOf.has(wait.pid)) waitOf.set(wait.pid, wait);
    const list = blockersOf.get(wait.pid) ?? [];
    for (const blocker of wait.blockedBy)
      if (blocker !== wait.pid && !list.includes(blocker)) list.push(blocker);
    blockersOf.set(wait.pid, list);
  }

  const edges: GraphEdge[] = [];
  const waiters: number[] = [];
  const unattributed: number[] = [];
  const blockedOnlyByQueue = new Map<number, boolean>();
  for (const [pid, blockers] of blockersOf) {
    if (blockers.length === 0) {
      unattributed.push(pid);
      continue;
    }
    waiters.push(pid);
    const own = waitOf.get(pid);
    for (const blocker of blockers) {
      const theirs = waitOf.get(blocker);
      const queued = own !== undefined && theirs !== undefined && sameRelationLock(own, theirs);
      edges.push({ waiter: pid, blocker, queued });
      if (theirs !== undefined)
        blockedOnlyByQueue.set(blocker, (blockedOnlyByQueue.get(blocker) ?? true) && queued);
    }
  }
  const queueOnly = new Set([...blockedOnlyByQueue].filter(([, only]) => only).map(([pid]) => pid));

  const isWaiting = (pid: number): boolean => (blockersOf.get(pid)?.length ?? 0) > 0;
  const nodes = [...new Set([...waiters, ...edges.map((e) => e.blocker)])];
  const components = stronglyConnected(nodes, blockersOf);
  const cycles = components
    .filter((c) => c.length > 1)
    .map((c) => [...c].sort((a, b) => a - b))
    .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));

  // Tarjan emits components in reverse topological order (blockers before their waiters), so one
  // pass in that order settles roots and depths.
  const componentOf = new Map<number, number[]>();
  for (const component of components) for (const pid of component) componentOf.set(pid, component);
  const reach = new Map<number, Set<number>>();
  const depth = new Map<number, number>();
  for (const component of components) {
    const roots = new Set<number>();
    let longest = -1;
    for (const pid of component) {
      if (!isWaiting(pid)) {
        roots.add(pid);
        longest = Math.max(longest, 0);
        continue;
      }
      for (const blocker of blockersOf.get(pid) ?? []) {
        if (componentOf.get(blocker) === component) continue;
        for (const root of reach.get(blocker) ?? []) roots.add(root);
        const below = depth.get(blocker);
        if (below !== undefined) longest = Math.max(longest, below + 1);
      }
    }
    for (const pid of component) {
      reach.set(pid, roots);
      if (longest >= 0) depth.set(pid, longest);
    }
  }

  const rootsOf = new Map<number, readonly number[]>();
  const depthOf = new Map<number, number>();
  const waiterCount = new Map<number, number>();
  for (const pid of waiters) {
    const roots = [...(reach.get(pid) ?? [])].sort((a, b) => a - b);
    rootsOf.set(pid, roots);
    const d = depth.get(pid);
    if (d !== undefined && roots.length > 0) depthOf.set(pid, d);
    for (const root of roots) waiterCount.set(root, (waiterCount.get(root) ?? 0) + 1);
  }
  const roots = nodes
    .filter((pid) => !isWaiting(pid))
    .map((pid) => ({ pid, waiterCount: waiterCount.get(pid) ?? 0 }));
  return { edges, waiters, unattributed, roots, rootsOf, depthOf, cycles, queueOnly };
};
