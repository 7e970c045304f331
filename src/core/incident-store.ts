import type { Alert, AlertStatus } from './alert.js';
import type { Deploy, RouteRollup } from './app-signal.js';
import type { ApiToken, MonitoredTarget, Service, TargetHealth } from './catalog.js';
import type { Finding, FindingKind } from './finding.js';
import type { Incident, IncidentState, TimelineEntry } from './incident.js';
import type { MetricsRepository } from './metrics-repository.js';
import type { EscalationRepository, OutboxRepository, PagingDirectoryRepository } from './paging-records.js';
import type { RuleState } from './rule-state.js';

/**
 * The store port: everything Hindsight keeps. Two adapters implement it — store/postgres (Kysely on
 * an embedded or a team's PostgreSQL) and store/memory — and one contract suite
 * (test/contract/) runs on both. Times are epoch milliseconds passed in by the caller: no adapter
 * reads the clock. Lists are ordered as documented and bounded by `limit` (default 100, max 1000).
 */
export interface IncidentStore extends StoreRepositories {
  /**
   * Runs `work` in one transaction holding the lock named `lock` (a PostgreSQL transaction-level
   * advisory lock; a mutex in memory), so that replicas and overlapping cycles serialize on it.
   * Commits when `work` resolves, rolls back everything it wrote when it rejects (and rethrows).
   */
  transact<T>(lock: string, work: (tx: StoreRepositories) => Promise<T>): Promise<T>;
  /** Is the store answering (readiness)? Never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface StoreRepositories {
  readonly findings: FindingRepository;
  readonly alerts: AlertRepository;
  readonly incidents: IncidentRepository;
  readonly timeline: TimelineRepository;
  readonly evidence: EvidenceRepository;
  readonly ruleStates: RuleStateRepository;
  readonly services: ServiceRepository;
  readonly targets: TargetRepository;
  readonly tokens: TokenRepository;
  /** Paging (paging-records.ts): the directory, escalation states and the outbox. */
  readonly paging: PagingDirectoryRepository;
  readonly escalations: EscalationRepository;
  readonly outbox: OutboxRepository;
  /** The web app's requests as 10 s route rollups (app-signal.ts), and its deploys. */
  readonly signals: SignalRepository;
  readonly deploys: DeployRepository;
  /** Database metrics: series points and top statements per target, downsampled (metrics-repository.ts). */
  readonly metrics: MetricsRepository;
}

/** When a finding happened: `at`, or a blocking episode's start. */
export const findingTime = (finding: Finding): number => ('at' in finding ? finding.at : finding.startedAt);

export interface FindingQuery {
  readonly since: number;
  /** Only findings whose `findingTime` is before this (exclusive): a history window. */
  readonly until?: number;
  readonly target?: string;
  readonly kinds?: readonly FindingKind[];
  readonly limit?: number;
  /** Keyset cursor: findings strictly after this (`findingTime`, `id`) in the list's order. */
  readonly after?: FindingCursor;
}

/** Where a page of findings ended: its last finding's time and id. */
export interface FindingCursor {
  readonly at: number;
  readonly id: string;
}

/** The cursor that continues a list after `finding`. */
export const findingCursor = (finding: Finding): FindingCursor => ({
  at: findingTime(finding),
  id: finding.id,
});

export interface FindingRepository {
  /**
   * Saves findings, upserting by `id`: a blocking episode's `closed` report replaces its `open`
   * one; a finding saved twice (an agent retrying a push) is kept once.
   */
  save(findings: readonly Finding[], receivedAt: number): Promise<void>;
  /** By id, in the order asked; unknown ids are left out. */
  get(ids: readonly string[]): Promise<Finding[]>;
  /**
   * Findings active since `since`, oldest first (by `findingTime`, then `id` in code-unit order):
   * those at or after it, and blocking episodes that ended at or after it or have not ended.
   * `after` is a keyset cursor: only findings ordered after that (time, id) — pass the last one of
   * a page to read the next, however many findings share one millisecond.
   */
  list(query: FindingQuery): Promise<Finding[]>;
  /** Drops findings that ended before `before` and back no alert or incident. Returns how many. */
  prune(before: number): Promise<number>;
}

export interface AlertRepository {
  insert(alert: Alert): Promise<void>;
  /** Inserts each as `insert` would, in one statement where the store can (a rule cycle's new alerts). */
  insertMany(alerts: readonly Alert[]): Promise<void>;
  /** Replaces the alert with the same id. */
  update(alert: Alert): Promise<void>;
  get(id: string): Promise<Alert | null>;
  /** The firing alert of `service` with this fingerprint, if any. */
  findFiring(service: string, fingerprint: string): Promise<Alert | null>;
  /** The firing alerts of these services and fingerprints (in no particular order; none for an unknown key). */
  findFiringMany(
    keys: readonly { readonly service: string; readonly fingerprint: string }[],
  ): Promise<Alert[]>;
  /** Newest first (by `startedAt`). */
  list(query: {
    readonly status?: AlertStatus;
    readonly service?: string;
    readonly incidentId?: string;
    readonly limit?: number;
  }): Promise<Alert[]>;
  countByStatus(): Promise<Readonly<Record<AlertStatus, number>>>;
}

export interface IncidentRepository {
  insert(incident: Incident): Promise<void>;
  /**
   * Writes `incident` (whose `version` is one more than the stored one) only if the stored version is
   * `incident.version - 1`. Returns false on a stale version: someone else changed it first.
   */
  update(incident: Incident): Promise<boolean>;
  /**
   * Writes `incident` only if the stored version is `storedVersion` (which may be several behind
   * `incident.version`: a batch of changes written at once). Returns false on any other version.
   */
  updateFrom(incident: Incident, storedVersion: number): Promise<boolean>;
  get(id: string): Promise<Incident | null>;
  /** Newest first (by `createdAt`). */
  list(query: {
    readonly states?: readonly IncidentState[];
    readonly service?: string;
    readonly limit?: number;
  }): Promise<Incident[]>;
  /** Incidents of `service` with this group key in one of `states`, the most recent `lastAlertAt` first. */
  findForGrouping(service: string, groupKey: string, states: readonly IncidentState[]): Promise<Incident[]>;
  countByState(): Promise<Readonly<Record<IncidentState, number>>>;
}

export interface TimelineRepository {
  append(entry: TimelineEntry): Promise<void>;
  /** Appends each as `append` would, in this order (one statement where the store can). */
  appendMany(entries: readonly TimelineEntry[]): Promise<void>;
  /** Oldest first (by `at`, then insertion order). */
  list(incidentId: string): Promise<TimelineEntry[]>;
}

/** Findings linked to an incident at `at`. */
export interface EvidenceLinks {
  readonly incidentId: string;
  readonly findingIds: readonly string[];
  readonly at: number;
}

/** Which findings back an incident (so a postmortem can cite them). */
export interface EvidenceRepository {
  /** Links findings to an incident; linking one twice keeps one link. */
  link(incidentId: string, findingIds: readonly string[], at: number): Promise<void>;
  /** Links as `link` would, for several incidents at once (one statement where the store can). */
  linkMany(links: readonly EvidenceLinks[]): Promise<void>;
  /** Its findings, oldest first (by `findingTime`). */
  findings(incidentId: string): Promise<Finding[]>;
}

export interface RuleStateRepository {
  get(key: string): Promise<RuleState | null>;
  list(): Promise<RuleState[]>;
  /** Upserts by `key`. */
  save(state: RuleState): Promise<void>;
  /** Upserts each by `key` (one statement where the store can: a rule cycle's changes at once). */
  saveMany(states: readonly RuleState[]): Promise<void>;
}

export interface ServiceRepository {
  /** Upserts by `name`. */
  save(service: Service): Promise<void>;
  get(name: string): Promise<Service | null>;
  /** By name. */
  list(): Promise<Service[]>;
  delete(name: string): Promise<boolean>;
  /** The service and integration whose secret hashes to `secretHash`. */
  findByIntegrationSecret(
    secretHash: string,
  ): Promise<{ readonly service: Service; readonly type: Service['integrations'][number]['type'] } | null>;
}

export interface TargetRepository {
  /** Upserts by `name`. */
  save(target: MonitoredTarget): Promise<void>;
  get(name: string): Promise<MonitoredTarget | null>;
  /** By name. */
  list(): Promise<MonitoredTarget[]>;
  delete(name: string): Promise<boolean>;
  /** Upserts the health an agent reported, by target name. */
  reportHealth(health: TargetHealth): Promise<void>;
  health(): Promise<TargetHealth[]>;
}

export interface TokenRepository {
  insert(token: ApiToken): Promise<void>;
  findBySecretHash(secretHash: string): Promise<ApiToken | null>;
  /** Oldest first. */
  list(): Promise<ApiToken[]>;
  delete(id: string): Promise<boolean>;
  count(): Promise<number>;
}

export interface RollupQuery {
  /** Rollups whose bucket starts at or after this. */
  readonly since: number;
  /** …and before this (exclusive). */
  readonly until?: number;
  readonly service?: string;
  /** The route template (`/checkout`), any method. */
  readonly route?: string;
  readonly method?: string;
  /** Default 10,000, at most 50,000 (a window of routes × buckets, not a page). */
  readonly limit?: number;
  /**
   * false: the user sets are left out (`users` and `failedUsers` empty, `usersTruncated` false) —
   * for readers of counts only, such as the error-rate rule, which runs on every nudge.
   */
  readonly users?: boolean;
}

export const DEFAULT_ROLLUP_LIMIT = 10_000;
export const MAX_ROLLUP_LIMIT = 50_000;

export interface SignalRepository {
  /**
   * Merges each rollup into the stored one of its key (service, method, route, bucket) by the rules
   * of core/app-signal-rollup.ts, inserting it when there is none. Safe under concurrency: two
   * replicas merging into the same key at once lose nothing (one statement; its row lock orders them).
   */
  merge(rollups: readonly RouteRollup[]): Promise<void>;
  /** Oldest bucket first, then service, method, route (code-unit order). */
  list(query: RollupQuery): Promise<RouteRollup[]>;
  /** Drops rollups whose bucket starts before `before`. Returns how many. */
  prune(before: number): Promise<number>;
}

export interface DeployRepository {
  /** A deploy whose id is already stored rejects with `STORE_CONFLICT`. */
  insert(deploy: Deploy): Promise<void>;
  /** Newest first (by `at`, then id). `since`: at or after. */
  list(query: {
    readonly service?: string;
    readonly since?: number;
    readonly limit?: number;
  }): Promise<Deploy[]>;
  /** The newest deploy of `service` at or before `at`, or null. */
  latestBefore(service: string, at: number): Promise<Deploy | null>;
}
