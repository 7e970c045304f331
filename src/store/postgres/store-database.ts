import type { Generated } from 'kysely';

/** The tables as Kysely sees them (see migrations/ for the SQL). Times are epoch ms (bigint, parsed as numbers). */
export interface StoreDatabase {
  findings: FindingsTable;
  alerts: AlertsTable;
  incidents: IncidentsTable;
  timeline: TimelineTable;
  evidence_links: EvidenceLinksTable;
  rule_states: RuleStatesTable;
  services: ServicesTable;
  targets: TargetsTable;
  target_health: TargetHealthTable;
  api_tokens: ApiTokensTable;
  paging_directory: PagingDirectoryTable;
  escalation_states: EscalationStatesTable;
  outbox: OutboxTable;
  app_rollups: AppRollupsTable;
  app_rollup_users: AppRollupUsersTable;
  deploys: DeploysTable;
  metric_series: MetricSeriesTable;
  metric_statement_sets: MetricStatementSetsTable;
  metric_statement_texts: MetricStatementTextsTable;
}

/** jsonb is written as its JSON text and read back parsed by `pg`. */
type Json<T> = T | string;

export interface FindingsTable {
  id: string;
  target: string;
  kind: string;
  at: number;
  ended_at: number | null;
  payload: Json<unknown>;
  received_at: number;
}

export interface AlertsTable {
  id: string;
  fingerprint: string;
  source: string;
  service: string;
  target: string | null;
  rule: string | null;
  severity: string;
  status: string;
  summary: string;
  labels: Json<Record<string, string>>;
  started_at: number;
  updated_at: number;
  resolved_at: number | null;
  incident_id: string | null;
  evidence: string[];
}

export interface IncidentsTable {
  id: string;
  service: string;
  group_key: string;
  title: string;
  summary: string;
  severity: string;
  state: string;
  created_at: number;
  acknowledged_at: number | null;
  mitigated_at: number | null;
  resolved_at: number | null;
  closed_at: number | null;
  cancelled_at: number | null;
  last_alert_at: number;
  version: number;
}

export interface TimelineTable {
  seq: Generated<number>;
  id: string;
  incident_id: string;
  at: number;
  actor: string;
  kind: string;
  text: string;
  dead_end: boolean;
  alert_id: string | null;
  data: Json<Record<string, unknown>>;
}

export interface EvidenceLinksTable {
  incident_id: string;
  finding_id: string;
  linked_at: number;
}

export interface RuleStatesTable {
  key: string;
  rule: string;
  target: string;
  service: string;
  phase: string;
  since: number;
  value: number;
  alert_id: string | null;
  evaluated_at: number;
}

export interface ServicesTable {
  name: string;
  definition: Json<unknown>;
}

export interface TargetsTable {
  name: string;
  service: string;
  definition: Json<unknown>;
}

export interface TargetHealthTable {
  target: string;
  reachable: boolean;
  problem: string | null;
  last_sample_at: number | null;
  agent: string;
  reported_at: number;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  secret_hash: string;
  role: string;
  created_at: number;
}

export interface PagingDirectoryTable {
  id: string;
  document: Json<unknown>;
  updated_at: number;
}

export interface EscalationStatesTable {
  incident_id: string;
  policy: string;
  kind: string;
  state: Json<unknown>;
  wake_at: number | null;
  updated_at: number;
}

export interface OutboxTable {
  seq: Generated<number>;
  id: string;
  idempotency_key: string;
  incident_id: string | null;
  channel: string;
  notification: Json<unknown>;
  state: string;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  updated_at: number;
  claimed_at: number | null;
  sent_at: number | null;
  last_error: string | null;
}

export interface AppRollupsTable {
  service: string;
  method: string;
  route: string;
  bucket: number;
  requests: number;
  failures: number;
  duration_ms_sum: number;
  duration_ms_max: number;
  /** Empty since migration 0006: the ids are rows of app_rollup_users. */
  users: string[];
  failed_users: string[];
  users_truncated: boolean;
  causes: Json<unknown>;
  samples: Json<unknown>;
  releases: string[];
}

export interface AppRollupUsersTable {
  service: string;
  method: string;
  route: string;
  bucket: number;
  /** false: users with a request in the bucket; true: those with a failed request. */
  failed: boolean;
  /** Ids one merge added (a key has a row per merge; reads unite them). */
  ids: string[];
}

export interface DeploysTable {
  id: string;
  service: string;
  version: string;
  commit_sha: string | null;
  at: number;
  actor: string;
}

/** Migration 0005: a point's values by position in SERIES_METRICS (NULL: unknown). */
export interface MetricSeriesTable {
  resolution_ms: number;
  at: number;
  target: string;
  samples: number;
  values: (number | null)[];
}

/** Migration 0005: an interval's top statements as parallel arrays, largest total time first. */
export interface MetricStatementSetsTable {
  resolution_ms: number;
  at: number;
  target: string;
  query_ids: string[];
  calls: number[];
  total_exec_ms: number[];
  rows: number[];
}

export interface MetricStatementTextsTable {
  target: string;
  query_id: string;
  query: string;
  last_seen: number;
}
