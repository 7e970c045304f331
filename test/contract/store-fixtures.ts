import type { Alert } from '../../src/core/alert.js';
import type { ApiToken, MonitoredTarget, Service, TargetHealth } from '../../src/core/catalog.js';
import type { BlockingEpisodeFinding, DeadlockFinding } from '../../src/core/finding.js';
import type { Incident, TimelineEntry } from '../../src/core/incident.js';
import type { RuleState } from '../../src/core/rule-state.js';

/** Builders of the rows the contract suite stores: sensible defaults, overridden per test. */

export const deadlock = (id: string, at: number, over: Partial<DeadlockFinding> = {}): DeadlockFinding => ({
  kind: 'deadlock',
  id,
  target: 'shop-db',
  at,
  source: 'log',
  victimPid: 4242,
  processes: [
    {
      pid: 4242,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 771',
      relation: 'inventory',
      blockedBy: 4243,
      query: 'UPDATE inventory SET n = n - $1 WHERE id = $2',
    },
    {
      pid: 4243,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 770',
      relation: 'products',
      blockedBy: 4242,
      query: 'UPDATE products SET n = n + $1 WHERE id = $2',
    },
  ],
  count: 1,
  database: 'shop',
  ...over,
});

export const episode = (
  id: string,
  startedAt: number,
  endedAt: number | null,
  over: Partial<BlockingEpisodeFinding> = {},
): BlockingEpisodeFinding => ({
  kind: 'blocking_episode',
  id,
  target: 'shop-db',
  phase: endedAt === null ? 'open' : 'closed',
  startedAt,
  endedAt,
  roots: [],
  victims: [],
  maxDepth: 1,
  maxWaiters: endedAt === null ? 1 : 3,
  longestWaitMs: endedAt === null ? 1_000 : endedAt - startedAt,
  edges: [{ waiter: 11, blocker: 10 }],
  ...over,
});

export const alert = (id: string, over: Partial<Alert> = {}): Alert => ({
  id,
  fingerprint: `fp-${id}`,
  source: 'rule',
  service: 'shop',
  target: 'shop-db',
  rule: 'deadlocks',
  severity: 'critical',
  status: 'firing',
  summary: '3 deadlocks in 5 min on shop-db',
  labels: { team: 'db', alertname: 'Deadlocks' },
  startedAt: 1_000,
  updatedAt: 1_000,
  resolvedAt: null,
  incidentId: null,
  evidence: [],
  ...over,
});

export const incident = (id: string, over: Partial<Incident> = {}): Incident => ({
  id,
  service: 'shop',
  groupKey: 'shop',
  title: 'Deadlocks on shop-db',
  summary: '212 deadlocks between `UPDATE inventory …` and `UPDATE products …`',
  severity: 'critical',
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

export const entry = (
  id: string,
  incidentId: string,
  at: number,
  over: Partial<TimelineEntry> = {},
): TimelineEntry => ({
  id,
  incidentId,
  at,
  actor: 'system',
  kind: 'note',
  text: `note ${id}`,
  deadEnd: false,
  alertId: null,
  data: {},
  ...over,
});

export const ruleState = (key: string, over: Partial<RuleState> = {}): RuleState => ({
  key,
  rule: key.split(':')[0] ?? key,
  target: key.split(':')[1] ?? 'shop-db',
  service: 'shop',
  phase: 'ok',
  since: 1_000,
  value: 0,
  alertId: null,
  evaluatedAt: 1_000,
  ...over,
});

export const service = (name: string, over: Partial<Service> = {}): Service => ({
  name,
  grouping: { kind: 'window', windowMs: 600_000, by: [] },
  integrations: [],
  rules: {},
  escalationPolicy: null,
  ...over,
});

export const target = (name: string, over: Partial<MonitoredTarget> = {}): MonitoredTarget => ({
  name,
  redactedUrl: `postgres://monitor:***@db.internal:5432/${name}`,
  service: 'shop',
  log: null,
  rules: {},
  ...over,
});

export const health = (targetName: string, over: Partial<TargetHealth> = {}): TargetHealth => ({
  target: targetName,
  reachable: true,
  problem: null,
  lastSampleAt: 1_000,
  agent: 'serve',
  reportedAt: 1_000,
  ...over,
});

export const token = (id: string, over: Partial<ApiToken> = {}): ApiToken => ({
  id,
  name: `token-${id}`,
  secretHash: `hash-${id}`,
  role: 'viewer',
  createdAt: 1_000,
  ...over,
});
