/**
 * Alerts: a condition that is firing or has resolved — raised by a rule over findings, or received
 * from a stack a team already runs (Alertmanager, anything that speaks PagerDuty Events v2).
 * Alerts of one service are correlated into incidents. Times are epoch milliseconds.
 */
export type Severity = 'critical' | 'error' | 'warning' | 'info';

export type AlertSource = 'rule' | 'alertmanager' | 'pagerduty';

export type AlertStatus = 'firing' | 'resolved';

export interface Alert {
  readonly id: string;
  /**
   * What deduplicates: at most one *firing* alert per (service, fingerprint). Rules use
   * `rule:<rule>:<target>`, Alertmanager its `fingerprint`, PagerDuty senders their `dedup_key`.
   * A resolved alert that fires again is a new alert with the same fingerprint.
   */
  readonly fingerprint: string;
  readonly source: AlertSource;
  readonly service: string;
  /** The monitored database it is about, when it is about one. */
  readonly target: string | null;
  /** The rule that raised it (source `rule`). */
  readonly rule: string | null;
  readonly severity: Severity;
  readonly status: AlertStatus;
  /** One line, e.g. "3 deadlocks in 5 min on shop-db". Text from the monitored world: render as text. */
  readonly summary: string;
  /** Labels as the sender gave them (Alertmanager labels, PagerDuty custom_details flattened). */
  readonly labels: Readonly<Record<string, string>>;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly resolvedAt: number | null;
  /** The incident it joined; null only between its creation and correlation. */
  readonly incidentId: string | null;
  /** Ids of the findings behind it (rules), in the order they arrived. */
  readonly evidence: readonly string[];
}

/**
 * An alert as an inbound integration delivers it, normalized from the sender's body (Alertmanager
 * webhook v4: one per entry of `alerts`; PagerDuty Events v2: one per event).
 */
export interface InboundAlert {
  readonly source: Exclude<AlertSource, 'rule'>;
  readonly service: string;
  readonly fingerprint: string;
  /** `trigger` fires (or refreshes) it, `acknowledge` acknowledges its incident, `resolve` resolves it. */
  readonly action: 'trigger' | 'acknowledge' | 'resolve';
  readonly severity: Severity;
  readonly summary: string;
  readonly labels: Readonly<Record<string, string>>;
  /** When the sender says it started (Alertmanager `startsAt`), else when it arrived. */
  readonly at: number;
}
