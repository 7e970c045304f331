import type { IncidentStore } from '../core/incident-store.js';
import type { TimelineKind } from '../core/incident.js';
import type {
  DeliveryResult,
  DigestNotification,
  Notification,
  NotificationChannel,
  NotifiedIncident,
  NotifierLookup,
} from '../core/notification.js';
import { deliveryFailed } from '../core/notification.js';
import type { OutboxMessage, OutboxUpdate } from '../core/paging-records.js';
import type { Clock, IdSource } from '../core/ports.js';
import { timelineEntry } from './incident-recorder.js';

export interface OutboxSenderOptions {
  /** Messages claimed per pass. Default 50. */
  readonly batchSize?: number;
  /** Attempts before a retryable failure is given up. Default 8. */
  readonly maxAttempts?: number;
  /** First retry delay, doubling per attempt up to `retryMaxMs`. Defaults 1 s and 5 min. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /**
   * A message `sending` for longer than this was being sent by a process that died: it becomes
   * `unknown` and is not resent. Longer than any send can take. Default 60 s.
   */
  readonly leaseMs?: number;
  /** This many pages or more for one person on one channel in one pass go as one digest. Default 5. */
  readonly digestThreshold?: number;
  /** Messages per minute per channel and process (a burst of as many is allowed). Default 60 (Slack allows about 1 a second). */
  readonly ratePerMinute?: number;
  /** Per send. Default 15 s. */
  readonly sendTimeoutMs?: number;
}

/** What one finished delivery reports (metrics). */
export interface DeliveryOutcome {
  readonly channel: string;
  readonly channelType: string;
  readonly outcome: 'sent' | 'retrying' | 'failed' | 'unknown';
  readonly kind: Notification['kind'];
  readonly incidentId: string | null;
  /** For a page: when its incident opened (the open-to-first-page histogram). */
  readonly incidentCreatedAt: number | null;
  readonly at: number;
}

export interface OutboxSenderReport {
  readonly claimed: number;
  readonly sent: number;
  readonly retrying: number;
  readonly failed: number;
  readonly unknown: number;
  readonly deferred: number;
  readonly digests: number;
}

export interface OutboxSenderDeps {
  readonly store: IncidentStore;
  readonly notifiers: NotifierLookup;
  readonly ids: IdSource;
  readonly onOutcome?: (outcome: DeliveryOutcome) => void;
  /**
   * Read between sends: a pass whose slow sends (channels timing out) would outlast half the lease
   * puts the rest of its batch back, so that no message is still unsent when another replica
   * declares it abandoned. Without it, a pass never stops early.
   */
  readonly clock?: Clock;
}

interface Bucket {
  tokens: number;
  at: number;
}

const DEFAULTS = {
  batchSize: 50,
  maxAttempts: 8,
  retryBaseMs: 1000,
  retryMaxMs: 300_000,
  leaseMs: 60_000,
  digestThreshold: 5,
  ratePerMinute: 60,
  sendTimeoutMs: 15_000,
};

/**
 * Delivers the outbox: each pass first marks messages abandoned mid-send (their process died) as
 * `unknown` — never resent — then claims due `pending` messages (committed as `sending` before any
 * network call), bundles a storm for one person into a digest, holds back what a channel's rate
 * limit does not allow yet, sends, and records each outcome with its timeline entry in one
 * transaction: sent; retried later with backoff (or the receiver's Retry-After); failed; or unknown
 * when the receiver may have got it (never resent: nobody is paged twice).
 */
export class OutboxSender {
  readonly #deps: OutboxSenderDeps;
  readonly #o: typeof DEFAULTS;
  readonly #buckets = new Map<string, Bucket>();

  constructor(deps: OutboxSenderDeps, options: OutboxSenderOptions = {}) {
    this.#deps = deps;
    this.#o = { ...DEFAULTS, ...options };
  }

  async run(now: number, signal: AbortSignal): Promise<OutboxSenderReport> {
    const { store } = this.#deps;
    const report = { claimed: 0, sent: 0, retrying: 0, failed: 0, unknown: 0, deferred: 0, digests: 0 };
    const abandoned = await store.outbox.abandon({ claimedBefore: now - this.#o.leaseMs, at: now });
    for (const m of abandoned) {
      report.unknown += 1;
      await this.#record(
        m,
        'notification_unknown',
        `outcome unknown on ${m.channel}: the sender stopped mid-send; not sent again`,
        now,
      );
      this.#report(m, null, 'unknown', now);
    }
    const claimed = await store.outbox.claim({ now, limit: this.#o.batchSize });
    report.claimed = claimed.length;
    if (claimed.length === 0) return report;
    const channels = new Map((await store.paging.get()).channels.map((c) => [c.name, c]));

    for (const group of this.#groups(claimed, now)) {
      const first = group[0];
      if (first === undefined) continue;
      const late = this.#deps.clock !== undefined && this.#deps.clock.now() - now > this.#o.leaseMs / 2;
      if (signal.aborted || late) {
        for (const m of group) await store.outbox.finish(m.id, { state: 'pending', at: now, release: true });
        report.deferred += group.length;
        continue;
      }
      const channel = channels.get(first.channel);
      if (!this.#take(first.channel, now)) {
        const wait = this.#waitFor(first.channel, now);
        for (const m of group)
          await store.outbox.finish(m.id, {
            state: 'pending',
            nextAttemptAt: now + wait,
            at: now,
            release: true,
          });
        report.deferred += group.length;
        continue;
      }
      const notification = group.length === 1 ? first.notification : digestOf(group, now);
      if (group.length > 1) report.digests += 1;
      const result = await this.#send(channel, first.channel, notification, signal);
      const describe =
        channel === undefined
          ? first.channel
          : (this.#deps.notifiers.notifierFor(channel.type)?.describe(channel) ?? first.channel);
      for (const m of group) {
        const outcome = await this.#finish(m, result, {
          now,
          describe,
          digestOf: group.length > 1 ? group.length : null,
        });
        report[outcome] += 1;
        this.#report(m, channel ?? null, outcome, now);
      }
    }
    return report;
  }

  /** Pages for one person on one channel, bundled when there are `digestThreshold` or more; everything else alone. */
  #groups(messages: readonly OutboxMessage[], now: number): OutboxMessage[][] {
    const pages = new Map<string, OutboxMessage[]>();
    const alone: OutboxMessage[][] = [];
    for (const m of messages) {
      const n = m.notification;
      if (n.kind !== 'triggered' && n.kind !== 'escalated') {
        alone.push([m]);
        continue;
      }
      const key = `${m.channel}\u0000${n.recipient?.user?.name ?? n.recipient?.target ?? ''}`;
      pages.set(key, [...(pages.get(key) ?? []), m]);
    }
    const groups: OutboxMessage[][] = [];
    for (const list of pages.values()) {
      // A storm, or more pages than the channel's rate limit lets through now: one digest.
      const channel = list[0]?.channel ?? '';
      if (
        list.length >= this.#o.digestThreshold ||
        (list.length > 1 && this.#tokens(channel, now) < list.length)
      )
        groups.push(list);
      else groups.push(...list.map((m) => [m]));
    }
    return [...groups, ...alone].sort((a, b) => (a[0]?.createdAt ?? 0) - (b[0]?.createdAt ?? 0));
  }

  /** The channel's token bucket, refilled up to `now`. */
  #bucket(channel: string, now: number): Bucket {
    const capacity = this.#o.ratePerMinute;
    const bucket = this.#buckets.get(channel) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(
      capacity,
      bucket.tokens + ((Math.max(now, bucket.at) - bucket.at) * capacity) / 60_000,
    );
    bucket.at = Math.max(now, bucket.at);
    this.#buckets.set(channel, bucket);
    return bucket;
  }

  #tokens(channel: string, now: number): number {
    return Math.floor(this.#bucket(channel, now).tokens);
  }

  #take(channel: string, now: number): boolean {
    const bucket = this.#bucket(channel, now);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** How long until the channel has a token again. */
  #waitFor(channel: string, now: number): number {
    const bucket = this.#bucket(channel, now);
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * 60_000) / this.#o.ratePerMinute));
  }

  async #send(
    channel: NotificationChannel | undefined,
    name: string,
    notification: Notification,
    signal: AbortSignal,
  ): Promise<DeliveryResult> {
    if (channel === undefined)
      return deliveryFailed(`no channel "${name}" in the configuration any more`, { retryable: false });
    const notifier = this.#deps.notifiers.notifierFor(channel.type);
    if (notifier === undefined)
      return deliveryFailed(`no notifier for channel type "${channel.type}"`, { retryable: false });
    const timeout = AbortSignal.timeout(this.#o.sendTimeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    try {
      return await notifier.send(channel, notification, both);
    } catch (error) {
      // The port promises not to throw; a bug in a notifier must not be resent blindly either.
      return deliveryFailed(
        `the ${channel.type} notifier failed: ${error instanceof Error ? error.message : String(error)}`,
        { retryable: false, maybeDelivered: true },
      );
    }
  }

  async #finish(
    m: OutboxMessage,
    result: DeliveryResult,
    ctx: { now: number; describe: string; digestOf: number | null },
  ): Promise<'sent' | 'retrying' | 'failed' | 'unknown'> {
    const { now } = ctx;
    const what = `${m.notification.kind}${m.notification.recipient?.user ? ` to ${m.notification.recipient.user.name}` : ''} via ${ctx.describe}${ctx.digestOf === null ? '' : ` (in a digest of ${ctx.digestOf})`}`;
    let update: OutboxUpdate;
    let outcome: 'sent' | 'retrying' | 'failed' | 'unknown';
    let kind: TimelineKind;
    let text: string;
    if (result.outcome === 'sent') {
      update = { state: 'sent', sentAt: now, lastError: null, at: now };
      outcome = 'sent';
      kind = 'notification_sent';
      text = `sent ${what}`;
    } else if (result.maybeDelivered === true) {
      update = { state: 'unknown', lastError: result.reason, at: now };
      outcome = 'unknown';
      kind = 'notification_unknown';
      text = `outcome unknown for ${what}: ${result.reason}; not sent again`;
    } else if (result.retryable && m.attempts < this.#o.maxAttempts) {
      const backoff = Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** Math.max(0, m.attempts - 1));
      const delay = Math.max(backoff, result.retryAfterMs ?? 0);
      update = { state: 'pending', nextAttemptAt: now + delay, lastError: result.reason, at: now };
      outcome = 'retrying';
      kind = 'notification_failed';
      text = `attempt ${m.attempts} of ${what} failed: ${result.reason}; retrying in ${Math.round(delay / 1000)} s`;
    } else {
      update = { state: 'failed', lastError: result.reason, at: now };
      outcome = 'failed';
      kind = 'notification_failed';
      text = `gave up on ${what} after ${m.attempts} attempt${m.attempts === 1 ? '' : 's'}: ${result.reason}`;
    }
    await this.#deps.store.transact(`outbox:${m.id}`, async (tx) => {
      if (!(await tx.outbox.finish(m.id, update))) return;
      if (m.incidentId === null) return;
      await tx.timeline.append(
        timelineEntry(
          { tx, ids: this.#deps.ids, now },
          {
            incidentId: m.incidentId,
            actor: 'system',
            kind,
            text,
            data: { message: m.id, channel: m.channel, attempts: m.attempts, state: update.state },
          },
        ),
      );
    });
    return outcome;
  }

  async #record(m: OutboxMessage, kind: TimelineKind, text: string, now: number): Promise<void> {
    if (m.incidentId === null) return;
    const incidentId = m.incidentId;
    await this.#deps.store.timeline.append(
      timelineEntry(
        { tx: this.#deps.store, ids: this.#deps.ids, now },
        { incidentId, actor: 'system', kind, text, data: { message: m.id, channel: m.channel } },
      ),
    );
  }

  #report(
    m: OutboxMessage,
    channel: NotificationChannel | null,
    outcome: DeliveryOutcome['outcome'],
    at: number,
  ): void {
    const n = m.notification;
    const page = n.kind === 'triggered' || n.kind === 'escalated';
    try {
      this.#deps.onOutcome?.({
        channel: m.channel,
        channelType: channel?.type ?? 'unknown',
        outcome,
        kind: n.kind,
        incidentId: m.incidentId,
        incidentCreatedAt: page ? n.incident.createdAt : null,
        at,
      });
    } catch {
      // Metrics are the caller's: a failing callback must not stop delivery.
    }
  }
}

/** A storm for one person, as one message: most severe incidents first. */
const digestOf = (group: readonly OutboxMessage[], now: number): DigestNotification => {
  const incidents = new Map<string, NotifiedIncident>();
  for (const m of group)
    if (m.notification.kind !== 'test' && m.notification.kind !== 'digest')
      incidents.set(m.notification.incident.id, m.notification.incident);
  const rank = { critical: 0, error: 1, warning: 2, info: 3 } as const;
  const listed = [...incidents.values()].sort(
    (a, b) => rank[a.severity] - rank[b.severity] || a.createdAt - b.createdAt,
  );
  return {
    kind: 'digest',
    idempotencyKey: `digest/${group.map((m) => m.id).join(',')}`.slice(0, 200),
    at: now,
    recipient: group[0]?.notification.recipient ?? null,
    incidents: listed,
    total: listed.length,
  };
};
