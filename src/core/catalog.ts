import type { Severity } from './alert.js';

/**
 * The objects a team declares (configuration as code, or through the API): services, the targets
 * that belong to them, and API tokens. Secrets are never kept in the clear: only their hashes.
 */

/** How a service's alerts become incidents. */
export type Grouping =
  /** Alerts within `windowMs` of the incident's last alert join it; `by` labels split groups. */
  | { readonly kind: 'window'; readonly windowMs: number; readonly by: readonly string[] }
  /** Every alert its own incident. */
  | { readonly kind: 'off' };

/**
 * What a name of ours looks like — a service, target, channel, agent or schedule: 1–63 letters,
 * digits, ".", "_" or "-", starting with a letter or digit (safe in URLs, labels and file names).
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const DEFAULT_GROUPING: Grouping = { kind: 'window', windowMs: 10 * 60_000, by: [] };

export type IntegrationType = 'alertmanager' | 'pagerduty';

export interface Integration {
  readonly type: IntegrationType;
  /** SHA-256 (hex) of the integration's secret: Alertmanager's bearer token, PagerDuty's routing_key. */
  readonly secretHash: string;
}

/** A rule's settings as a user overrides them; absent fields keep the built-in default. */
export interface RuleOverride {
  readonly enabled?: boolean;
  readonly threshold?: number;
  readonly resolveThreshold?: number;
  readonly windowMs?: number;
  readonly forMs?: number;
  readonly severity?: Severity;
}

export interface Service {
  readonly name: string;
  readonly grouping: Grouping;
  readonly integrations: readonly Integration[];
  /** Overrides of the built-in rules for this service's targets, by rule name. */
  readonly rules: Readonly<Record<string, RuleOverride>>;
  /** The escalation policy that pages for it (paging issue); null until then. */
  readonly escalationPolicy: string | null;
}

export interface MonitoredTarget {
  readonly name: string;
  /** The connection URL with its password replaced by `***`: never the secret. */
  readonly redactedUrl: string;
  readonly service: string;
  readonly log: string | null;
  readonly rules: Readonly<Record<string, RuleOverride>>;
}

/** What the target's agent last reported about it. */
export interface TargetHealth {
  readonly target: string;
  readonly reachable: boolean;
  /** Why the last attempt failed, when unreachable. */
  readonly problem: string | null;
  readonly lastSampleAt: number | null;
  /** Which agent reports it (`serve` for the server's own, or the agent's name). */
  readonly agent: string;
  readonly reportedAt: number;
}

/**
 * What a token may do: `viewer` reads, `responder` also acts on incidents, `admin` also manages
 * tokens and the catalog. `ingest` only sends: app events, OTLP traces, agent pushes, deploys — the
 * token an app, an agent or a CI pipeline holds, which can read nothing (responder and admin may
 * send too).
 */
export type Role = 'viewer' | 'responder' | 'admin' | 'ingest';

export interface ApiToken {
  readonly id: string;
  readonly name: string;
  /** SHA-256 (hex) of the secret: tokens are random and long, so no slow hash is needed. */
  readonly secretHash: string;
  readonly role: Role;
  readonly createdAt: number;
}
