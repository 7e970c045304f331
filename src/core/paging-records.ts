import type { EscalationPolicy, EscalationState } from './escalation.js';
import type { Notification, NotificationChannel } from './notification.js';
import type { PagingUser, Schedule, Team } from './on-call-schedule.js';

/**
 * What paging keeps in the store: the directory (who, which schedules, channels and policies — as
 * the configuration declared them), each incident's escalation state, and the outbox of messages.
 */

export interface PagingDirectory {
  readonly users: readonly PagingUser[];
  readonly teams: readonly Team[];
  readonly schedules: readonly Schedule[];
  readonly channels: readonly NotificationChannel[];
  readonly escalationPolicies: readonly EscalationPolicy[];
}

export const EMPTY_DIRECTORY: PagingDirectory = {
  users: [],
  teams: [],
  schedules: [],
  channels: [],
  escalationPolicies: [],
};

export interface EscalationRecord {
  readonly incidentId: string;
  /** The policy it escalates by (the service's, when the incident opened). */
  readonly policy: string;
  readonly state: EscalationState;
  /** When the cycle must look at it again without anything changing; null: only on a change. */
  readonly wakeAt: number | null;
  readonly updatedAt: number;
}

/**
 * A message's life: `pending` (written with the change that caused it) → `sending` (claimed, in its
 * own committed transaction, before the network call) → `sent` | `failed` (given up: not
 * retryable, or out of attempts) | `unknown` (a crash or a timeout mid-send: it may have arrived,
 * so it is never sent again).
 */
export type OutboxState = 'pending' | 'sending' | 'sent' | 'failed' | 'unknown';

export interface OutboxMessage {
  readonly id: string;
  /** One intended delivery: a second enqueue with the same key is ignored (nobody paged twice). */
  readonly idempotencyKey: string;
  readonly incidentId: string | null;
  readonly channel: string;
  readonly notification: Notification;
  readonly state: OutboxState;
  /** Sends attempted so far. */
  readonly attempts: number;
  /** Not before this time (retries back off). */
  readonly nextAttemptAt: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When it was claimed for its latest attempt. */
  readonly claimedAt: number | null;
  readonly sentAt: number | null;
  readonly lastError: string | null;
}

export interface PagingDirectoryRepository {
  /** Replaces the directory (serve applies the configuration at start). */
  save(directory: PagingDirectory, at: number): Promise<void>;
  /** The directory last saved; the empty one before any. */
  get(): Promise<PagingDirectory>;
  /**
   * The key that signs one-click acknowledge links: `candidate` if none is stored yet, else the
   * stored one — so every replica, and every restart, signs and checks with the same key.
   */
  signingKey(candidate: string): Promise<string>;
}

/** Makes the signed, expiring links a page carries: acknowledge in one click, and read the incident. */
export interface AcknowledgeLinks {
  link(incidentId: string, now: number): { readonly url: string; readonly expiresAt: number };
  /** The incident's page, readable without a token until it expires. */
  view(incidentId: string, now: number): { readonly url: string; readonly expiresAt: number };
}

export interface EscalationRepository {
  get(incidentId: string): Promise<EscalationRecord | null>;
  /** Upserts by incident id. */
  save(record: EscalationRecord): Promise<void>;
  /** Records not yet `stopped`, by incident id. */
  listActive(limit?: number): Promise<EscalationRecord[]>;
}

/** What a finished attempt changes. */
export interface OutboxUpdate {
  readonly state: Exclude<OutboxState, 'sending'>;
  readonly nextAttemptAt?: number;
  readonly sentAt?: number | null;
  readonly lastError?: string | null;
  readonly at: number;
  /** Put back unsent without counting the attempt (a rate limit held it back). */
  readonly release?: boolean;
}

export interface OutboxRepository {
  /** Inserts messages; one whose idempotency key is already stored is left out. Returns those inserted. */
  enqueue(messages: readonly OutboxMessage[]): Promise<OutboxMessage[]>;
  /**
   * Claims up to `limit` pending messages due at `now`, oldest first, and marks them `sending`
   * (attempts + 1, claimedAt = now). Outside a transaction it commits at once; on PostgreSQL rows
   * another replica is claiming are skipped (FOR UPDATE SKIP LOCKED), so each is claimed once.
   */
  claim(query: { readonly now: number; readonly limit: number }): Promise<OutboxMessage[]>;
  /** Ends an attempt: only a message still `sending` changes. Returns whether it did. */
  finish(id: string, update: OutboxUpdate): Promise<boolean>;
  /**
   * Messages left `sending` since before `claimedBefore` (a crash mid-send) become `unknown` and are
   * never resent. Returns them.
   */
  abandon(query: { readonly claimedBefore: number; readonly at: number }): Promise<OutboxMessage[]>;
  /** Oldest first. */
  list(query: {
    readonly incidentId?: string;
    readonly states?: readonly OutboxState[];
    readonly limit?: number;
  }): Promise<OutboxMessage[]>;
  countByState(): Promise<Readonly<Record<OutboxState, number>>>;
}
