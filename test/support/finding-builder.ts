import type { Alert } from '../../src/core/alert.js';
import type {
  BlockingEpisodeFinding,
  DeadlockFinding,
  IdleInTransactionFinding,
  LockWaitStormFinding,
  LongTransactionFinding,
  RootBlocker,
  TargetRecoveredFinding,
  TargetUnreachableFinding,
  Victim,
} from '../../src/core/finding.js';
import type { Incident } from '../../src/core/incident.js';

/** Hand-built findings, alerts and incidents for rule and incident tests: only what a test names differs. */

export const deadlock = (id: string, at: number, over: Partial<DeadlockFinding> = {}): DeadlockFinding => ({
  kind: 'deadlock',
  id,
  target: 'shop-db',
  at,
  source: 'log',
  victimPid: 101,
  processes: [
    {
      pid: 101,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 1',
      relation: 'public.inventory',
      blockedBy: 102,
      query: 'UPDATE inventory SET qty = qty - $1 WHERE id = $2',
    },
    {
      pid: 102,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 2',
      relation: 'public.products',
      blockedBy: 101,
      query: 'UPDATE products SET stock = stock - $1 WHERE id = $2',
    },
  ],
  count: 1,
  database: 'shop',
  ...over,
});

export const root = (pid: number, over: Partial<RootBlocker> = {}): RootBlocker => ({
  pid,
  state: 'idle in transaction',
  query: 'UPDATE orders SET status = $1 WHERE id = $2',
  user: 'app',
  application: 'web',
  client: null,
  xactAgeMs: 60_000,
  stateAgeMs: 40_000,
  blockedCount: 3,
  ...over,
});

export const victim = (pid: number, over: Partial<Victim> = {}): Victim => ({
  pid,
  query: 'SELECT * FROM orders WHERE id = $1',
  waitedMs: 12_000,
  lockMode: 'ShareLock',
  relation: 'public.orders',
  blockedBy: [4242],
  rootPids: [4242],
  ...over,
});

export const episode = (
  id: string,
  startedAt: number,
  over: Partial<BlockingEpisodeFinding> = {},
): BlockingEpisodeFinding => ({
  kind: 'blocking_episode',
  id,
  target: 'shop-db',
  phase: 'open',
  startedAt,
  endedAt: null,
  roots: [root(4242)],
  victims: [victim(5001)],
  maxDepth: 1,
  maxWaiters: 3,
  longestWaitMs: 12_000,
  edges: [{ waiter: 5001, blocker: 4242 }],
  ...over,
});

export const idleInTransaction = (
  id: string,
  at: number,
  over: Partial<IdleInTransactionFinding> = {},
): IdleInTransactionFinding => ({
  kind: 'idle_in_transaction',
  id,
  target: 'shop-db',
  at,
  pid: 4242,
  idleMs: 31_000,
  query: 'UPDATE orders SET status = $1 WHERE id = $2',
  application: 'web',
  ...over,
});

export const storm = (
  id: string,
  at: number,
  over: Partial<LockWaitStormFinding> = {},
): LockWaitStormFinding => ({
  kind: 'lock_wait_storm',
  id,
  target: 'shop-db',
  at,
  relation: 'public.orders',
  waiters: 12,
  ...over,
});

export const longTransaction = (
  id: string,
  at: number,
  over: Partial<LongTransactionFinding> = {},
): LongTransactionFinding => ({
  kind: 'long_transaction',
  id,
  target: 'shop-db',
  at,
  pid: 77,
  ageMs: 301_000,
  state: 'active',
  query: 'SELECT count(*) FROM events',
  application: 'report',
  ...over,
});

export const unreachable = (
  id: string,
  at: number,
  over: Partial<TargetUnreachableFinding> = {},
): TargetUnreachableFinding => ({
  kind: 'target_unreachable',
  id,
  target: 'shop-db',
  at,
  reason: 'connection refused',
  ...over,
});

export const recovered = (
  id: string,
  at: number,
  over: Partial<TargetRecoveredFinding> = {},
): TargetRecoveredFinding => ({
  kind: 'target_recovered',
  id,
  target: 'shop-db',
  at,
  downMs: 60_000,
  ...over,
});

export const incident = (over: Partial<Incident> = {}): Incident => ({
  id: 'inc-1',
  service: 'shop',
  groupKey: 'shop',
  title: 'Deadlocks on shop-db',
  summary: '',
  severity: 'warning',
  state: 'triggered',
  createdAt: 1_000,
  acknowledgedAt: null,
  mitigatedAt: null,
  resolvedAt: null,
  closedAt: null,
  cancelledAt: null,
  lastAlertAt: 1_000,
  version: 1,
  ...over,
});

export const alert = (over: Partial<Alert> = {}): Alert => ({
  id: 'alert-1',
  fingerprint: 'rule:deadlocks:shop-db',
  source: 'rule',
  service: 'shop',
  target: 'shop-db',
  rule: 'deadlocks',
  severity: 'critical',
  status: 'firing',
  summary: '1 deadlock in 5 min on shop-db',
  labels: {},
  startedAt: 1_000,
  updatedAt: 1_000,
  resolvedAt: null,
  incidentId: null,
  evidence: [],
  ...over,
});
