import type { Severity } from './alert.js';
import type { IncidentState } from './incident.js';

/**
 * Notifications: what Hindsight tells people, and the port through which it tells them. One
 * `Notifier` per channel *type* (slack, email…) sends one `Notification` to one configured
 * channel. Expected failures (a 503, a refused SMTP login) are returned, never thrown: the outbox
 * decides from `retryable` whether to try again.
 *
 * Every text field that comes from the monitored world (titles, summaries, names) is plain text:
 * each channel escapes it for its own markup.
 */

export type NotificationKind = 'triggered' | 'escalated' | 'acknowledged' | 'resolved' | 'test' | 'digest';

/** What a message says about one incident. */
export interface NotifiedIncident {
  readonly id: string;
  readonly title: string;
  /** The one-sentence account of the incident. */
  readonly summary: string;
  readonly severity: Severity;
  readonly service: string;
  readonly state: IncidentState;
  readonly createdAt: number;
  /** The incident's page on the dashboard: an absolute URL. */
  readonly url: string;
}

/** A signed link that acknowledges the incident in one click, until it expires. */
export interface AcknowledgeLink {
  readonly url: string;
  readonly expiresAt: number;
}

/** Who a message is for, as the escalation policy resolved it. */
export interface NotificationRecipient {
  /** What the policy step named: `user:alice`, `schedule:primary`, `team:database`, `channel:ops-hook`. */
  readonly target: string;
  /** The person paged, when the target resolved to one (schedules and teams resolve to users). */
  readonly user: { readonly name: string; readonly email: string | null } | null;
}

/** The escalation step that sent a page: both 0-based (`round` counts the policy's repeats). */
export interface EscalationStepRef {
  readonly index: number;
  readonly round: number;
}

interface NotificationBase {
  /**
   * Stable for one intended delivery (the outbox sets it): receivers that can, deduplicate on it
   * (webhook header, email Message-ID).
   */
  readonly idempotencyKey: string;
  /** When what the message reports happened (epoch ms). */
  readonly at: number;
  /** Null for messages to a channel as such (a resolve broadcast, a test). */
  readonly recipient: NotificationRecipient | null;
}

/** A page or an update about one incident. */
export interface IncidentNotification extends NotificationBase {
  readonly kind: 'triggered' | 'escalated' | 'acknowledged' | 'resolved';
  readonly incident: NotifiedIncident;
  /** Offered on `triggered` and `escalated` pages; null when there is none. */
  readonly acknowledge: AcknowledgeLink | null;
  /** The escalation step that sent it; null when no step did (e.g. `resolved`). */
  readonly step: EscalationStepRef | null;
  /** Who acknowledged or resolved (`alice`, `integration:alertmanager`); null for pages. */
  readonly actor: string | null;
}

/** `hindsight channel test NAME`: proves the channel's configuration. */
export interface TestNotification extends NotificationBase {
  readonly kind: 'test';
  /** The channel's configured name. */
  readonly channel: string;
  /** Who asked for the test; null when unknown. */
  readonly requestedBy: string | null;
}

/** A storm bundled into one message instead of hundreds of pages. */
export interface DigestNotification extends NotificationBase {
  readonly kind: 'digest';
  /** The incidents listed (most important first); `total` may be more than are listed. */
  readonly incidents: readonly NotifiedIncident[];
  readonly total: number;
}

export type Notification = IncidentNotification | TestNotification | DigestNotification;

/** The outcome of one send. `retryAfterMs` is the receiver's own request (HTTP Retry-After). */
export type DeliveryResult =
  | { readonly outcome: 'sent' }
  | {
      readonly outcome: 'failed';
      readonly retryable: boolean;
      /** For the timeline and logs: says what to do, and never holds a secret. */
      readonly reason: string;
      readonly retryAfterMs?: number;
      /**
       * The receiver may have got it: no answer came in time after the request may have left.
       * Resending may duplicate the message on channels that cannot deduplicate.
       */
      readonly maybeDelivered?: true;
    };

/** A channel as configured (`channels:` in the configuration file). */
export interface NotificationChannel {
  readonly name: string;
  readonly type: string;
  /** The channel's settings; the notifier of `type` validates them with its own schema. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** Sends notifications to channels of one type. Implemented by notify/. */
export interface Notifier {
  readonly type: string;
  /**
   * Sends one notification to one channel. Resolves with the outcome: never rejects for a
   * failure of the channel, its configuration or the network; an aborted `signal` resolves as a
   * retryable failure.
   */
  send(
    channel: NotificationChannel,
    notification: Notification,
    signal: AbortSignal,
  ): Promise<DeliveryResult>;
  /** Where the channel delivers, safe for logs and the timeline (`slack via hooks.slack.com`): never a secret. */
  describe(channel: NotificationChannel): string;
}

/** Finds the notifier of a channel type. Implemented by notify/'s registry. */
export interface NotifierLookup {
  notifierFor(type: string): Notifier | undefined;
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { critical: 0, error: 1, warning: 2, info: 3 };

/** The severity a message is sent with: its incident's, the highest of a digest's, `info` for a test. */
export function notificationSeverity(notification: Notification): Severity {
  switch (notification.kind) {
    case 'test':
      return 'info';
    case 'digest':
      return notification.incidents.reduce<Severity>(
        (worst, incident) =>
          SEVERITY_RANK[incident.severity] < SEVERITY_RANK[worst] ? incident.severity : worst,
        'info',
      );
    case 'triggered':
    case 'escalated':
    case 'acknowledged':
    case 'resolved':
      return notification.incident.severity;
  }
}

export const delivered: DeliveryResult = { outcome: 'sent' };

export function deliveryFailed(
  reason: string,
  options: { retryable: boolean; retryAfterMs?: number; maybeDelivered?: boolean },
): DeliveryResult {
  return {
    outcome: 'failed',
    retryable: options.retryable,
    reason,
    ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
    ...(options.maybeDelivered === true ? { maybeDelivered: true as const } : {}),
  };
}
