import type { Alert } from '../../core/alert.js';
import type { Deploy, RouteRollup } from '../../core/app-signal.js';
import type { ApiToken, MonitoredTarget, Service, TargetHealth } from '../../core/catalog.js';
import type { Finding } from '../../core/finding.js';
import type { Incident, TimelineEntry } from '../../core/incident.js';
import type { MetricsPartition } from '../../core/metrics-repository.js';
import type { SeriesPoint, StatementPoint } from '../../core/metrics-series.js';
import type { EscalationRecord, OutboxMessage, PagingDirectory } from '../../core/paging-records.js';
import type { RuleState } from '../../core/rule-state.js';

export interface StoredFinding {
  readonly finding: Finding;
  readonly receivedAt: number;
  /** When it stops being active: `at`, a closed episode's `endedAt`, null while an episode is open. */
  readonly endedAt: number | null;
}

export interface StoredTimelineEntry {
  readonly entry: TimelineEntry;
  /** Insertion order, for entries with the same `at`. */
  readonly seq: number;
}

export interface EvidenceLink {
  readonly incidentId: string;
  readonly findingId: string;
  readonly at: number;
}

export interface StoredOutboxMessage {
  readonly message: OutboxMessage;
  /** Insertion order, for messages created at the same time. */
  readonly seq: number;
}

/** The memory store's tables, one map each, keyed like the PostgreSQL primary keys. */
export interface Tables {
  readonly findings: Map<string, StoredFinding>;
  readonly alerts: Map<string, Alert>;
  readonly incidents: Map<string, Incident>;
  readonly timeline: Map<string, StoredTimelineEntry>;
  /** Keyed by `incidentId \0 findingId`. */
  readonly evidence: Map<string, EvidenceLink>;
  readonly ruleStates: Map<string, RuleState>;
  readonly services: Map<string, Service>;
  readonly targets: Map<string, MonitoredTarget>;
  readonly health: Map<string, TargetHealth>;
  readonly tokens: Map<string, ApiToken>;
  /** One row, keyed `current`. */
  readonly paging: Map<string, PagingDirectory>;
  readonly signingKeys: Map<string, string>;
  readonly escalations: Map<string, EscalationRecord>;
  readonly outbox: Map<string, StoredOutboxMessage>;
  /** Keyed by `rollupKey` (service, method, route, bucket). */
  readonly rollups: Map<string, RouteRollup>;
  readonly deploys: Map<string, Deploy>;
  /** Keyed by resolution, at, target (metrics-repository.ts). */
  readonly metricPoints: Map<string, SeriesPoint>;
  /** Keyed by resolution, at, target, query id. */
  readonly metricStatements: Map<string, StatementPoint>;
  /** Keyed by resolution and start: the partitions a PostgreSQL store would have. */
  readonly metricPartitions: Map<string, MetricsPartition>;
}

export type TableName = keyof Tables;
type Row<N extends TableName> = Tables[N] extends Map<string, infer R> ? R : never;

export const emptyTables = (): Tables => ({
  findings: new Map(),
  alerts: new Map(),
  incidents: new Map(),
  timeline: new Map(),
  evidence: new Map(),
  ruleStates: new Map(),
  services: new Map(),
  targets: new Map(),
  health: new Map(),
  tokens: new Map(),
  paging: new Map(),
  signingKeys: new Map(),
  escalations: new Map(),
  outbox: new Map(),
  rollups: new Map(),
  deploys: new Map(),
  metricPoints: new Map(),
  metricStatements: new Map(),
  metricPartitions: new Map(),
});

/** What a transaction wrote, as the previous values to put back if it rolls back. */
export type UndoJournal = { table: TableName; key: string; previous: unknown }[];

/**
 * Every write goes through here, so that a transaction can record what it overwrote (an undo
 * journal) and put it back when its work rejects — without touching writes made outside it.
 * Rows are cloned on the way in here, and on the way out by the repositories (`out`): callers never
 * hold the store's own objects.
 */
export class TableAccess {
  readonly #tables: Tables;
  readonly #journal: UndoJournal | null;
  #seq: { value: number };

  constructor(tables: Tables, seq: { value: number }, journal: UndoJournal | null) {
    this.#tables = tables;
    this.#seq = seq;
    this.#journal = journal;
  }

  nextSeq(): number {
    this.#seq.value += 1;
    return this.#seq.value;
  }

  /** The stored row itself: never hand it out uncloned (repositories clone what they return). */
  get<N extends TableName>(table: N, key: string): Row<N> | undefined {
    return (this.#tables[table] as Map<string, Row<N>>).get(key);
  }

  /** The stored rows themselves (in a fresh array), for filtering before cloning the few returned. */
  rows<N extends TableName>(table: N): Row<N>[] {
    return [...(this.#tables[table] as Map<string, Row<N>>).values()];
  }

  /** The stored rows themselves, without copying them into an array (scans that keep few rows). */
  values<N extends TableName>(table: N): IterableIterator<Row<N>> {
    return (this.#tables[table] as Map<string, Row<N>>).values();
  }

  has(table: TableName, key: string): boolean {
    return this.#tables[table].has(key);
  }

  set<N extends TableName>(table: N, key: string, row: Row<N>): void {
    const map = this.#tables[table] as Map<string, Row<N>>;
    this.#journal?.push({ table, key, previous: map.get(key) });
    map.set(key, structuredClone(row));
  }

  delete(table: TableName, key: string): boolean {
    const map = this.#tables[table] as Map<string, unknown>;
    if (!map.has(key)) return false;
    this.#journal?.push({ table, key, previous: map.get(key) });
    map.delete(key);
    return true;
  }
}

/** Puts back what a journal recorded, newest write first. */
export function undo(tables: Tables, journal: UndoJournal): void {
  for (const { table, key, previous } of journal.toReversed()) {
    const map = tables[table] as Map<string, unknown>;
    if (previous === undefined) map.delete(key);
    else map.set(key, previous);
  }
}
