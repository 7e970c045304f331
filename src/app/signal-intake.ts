import { isFailedRequest, MAX_ROLLUP_USERS, type AppEvent, type RouteRollup } from '../core/app-signal.js';
import { foldEvents, rollupKey } from '../core/app-signal-rollup.js';
import type { IncidentStore } from '../core/incident-store.js';

/** How long rollups are kept by default: two weeks of history for baselines and incidents. */
export const DEFAULT_SIGNAL_RETENTION_MS = 14 * 24 * 3_600_000;
/** How often (by the batches' receive times) old rollups are pruned. */
const PRUNE_EVERY_MS = 10 * 60_000;
/** Rollups change the error rate only bucket by bucket: a nudge for failures at most this often. */
const NUDGE_EVERY_MS = 250;
/** Users remembered as stored, per rollup key, for keys of the last minute; at most this many in all. */
const KNOWN_USERS_MAX = 200_000;
const KNOWN_USERS_AGE_MS = 60_000;

export interface SignalIntakeDeps {
  readonly store: IncidentStore;
  /** Called once a batch is stored, so the rule cycle looks now. Usually `() => ruleLoop.nudge()`. */
  readonly nudge?: () => void;
  /** Events stored (`accepted`) and events the senders dropped from their buffers (`dropped`). */
  readonly count?: (outcome: 'accepted' | 'dropped', events: number) => void;
  /** A background prune failed (ingest goes on; the next prune retries). */
  readonly onPruneError?: (error: unknown) => void;
  readonly retentionMs?: number;
}

interface Pending {
  /** The batches waiting for the next merge, folded together when it starts. */
  readonly batches: (readonly AppEvent[])[];
  readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * Where the web app's events enter the record (`POST /api/v1/events`, OTLP `/v1/traces`): each batch
 * is folded into route rollups and merged into the store, and the call resolves only once that is
 * committed — a reply sent after it survives a `kill -9`.
 *
 * Batches arriving while a merge is in flight are folded together and merged by the next one, in one
 * statement: under load the store sees one upsert per commit, not one per request (group commit),
 * and the events of all those batches are folded once (cheaper than merging their rollups).
 */
export class SignalIntake {
  readonly #store: IncidentStore;
  readonly #nudge: () => void;
  readonly #count: (outcome: 'accepted' | 'dropped', events: number) => void;
  readonly #onPruneError: (error: unknown) => void;
  readonly #retentionMs: number;
  #next: Pending | null = null;
  #flight: Promise<void> | null = null;
  #lastPruneAt = Number.NEGATIVE_INFINITY;
  #pruning: Promise<void> | null = null;
  #lastNudgeAt = Number.NEGATIVE_INFINITY;
  /**
   * The user ids this process has stored per rollup key (recent buckets only). A merge unites user
   * sets, so sending an id again changes nothing: leaving known ones out keeps a busy route's upsert
   * small (the store sends and sorts only what is new). Only an optimization: forgetting is safe.
   */
  readonly #knownUsers = new Map<string, { users: Set<string>; failedUsers: Set<string> }>();
  #knownCount = 0;

  constructor(deps: SignalIntakeDeps) {
    this.#store = deps.store;
    this.#nudge = deps.nudge ?? (() => undefined);
    this.#count = deps.count ?? (() => undefined);
    this.#onPruneError = deps.onPruneError ?? (() => undefined);
    this.#retentionMs = deps.retentionMs ?? DEFAULT_SIGNAL_RETENTION_MS;
  }

  async ingestEvents(events: readonly AppEvent[], receivedAt: number, dropped = 0): Promise<void> {
    if (dropped > 0) this.#count('dropped', dropped);
    if (events.length === 0) return;
    await this.#merge(events);
    this.#count('accepted', events.length);
    if (receivedAt - this.#lastNudgeAt >= NUDGE_EVERY_MS && events.some(failed)) {
      this.#lastNudgeAt = receivedAt;
      this.#nudge();
    }
    this.#pruneFromTimeToTime(receivedAt);
  }

  /** Resolves when no merge or prune is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#flight !== null || this.#pruning !== null)
      await Promise.allSettled([this.#flight, this.#pruning]);
  }

  #merge(events: readonly AppEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#next ??= { batches: [], waiters: [] };
      this.#next.batches.push(events);
      this.#next.waiters.push({ resolve, reject });
      this.#flight ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    for (let batch = this.#next; batch !== null; batch = this.#next) {
      this.#next = null;
      try {
        const rollups = foldEvents(
          batch.batches.length === 1 ? (batch.batches[0] ?? []) : batch.batches.flat(),
        );
        await this.#store.signals.merge(rollups.map((r) => this.#withoutKnownUsers(r)));
        this.#remember(rollups);
        for (const w of batch.waiters) w.resolve();
      } catch (error) {
        for (const w of batch.waiters) w.reject(error);
      }
    }
    this.#flight = null;
  }

  #withoutKnownUsers(r: RouteRollup): RouteRollup {
    const known = this.#knownUsers.get(rollupKey(r));
    if (known === undefined) return r;
    // A key that already holds the bound gets no more ids from this process: the store keeps every
    // id it is sent (and reads the smallest), so this is what bounds a busy route's rows.
    const full = (set: Set<string>) => set.size >= MAX_ROLLUP_USERS;
    const users = full(known.users) ? [] : r.users.filter((u) => !known.users.has(u));
    const failedUsers = full(known.failedUsers) ? [] : r.failedUsers.filter((u) => !known.failedUsers.has(u));
    const cut =
      (full(known.users) && r.users.some((u) => !known.users.has(u))) ||
      (full(known.failedUsers) && r.failedUsers.some((u) => !known.failedUsers.has(u)));
    return { ...r, users, failedUsers, usersTruncated: r.usersTruncated || cut };
  }

  /** After a merge committed: its rollups' users are stored. Keys of old buckets are forgotten. */
  #remember(rollups: readonly RouteRollup[]): void {
    const newest = rollups.reduce((max, r) => Math.max(max, r.bucket), Number.NEGATIVE_INFINITY);
    for (const [key, known] of this.#knownUsers) {
      const bucket = Number(key.slice(key.lastIndexOf('\u0000') + 1));
      if (bucket < newest - KNOWN_USERS_AGE_MS) {
        this.#knownUsers.delete(key);
        this.#knownCount -= known.users.size + known.failedUsers.size;
      }
    }
    for (const r of rollups) {
      if (this.#knownCount > KNOWN_USERS_MAX) {
        this.#knownUsers.clear();
        this.#knownCount = 0;
      }
      const key = rollupKey(r);
      let known = this.#knownUsers.get(key);
      if (known === undefined) {
        known = { users: new Set(), failedUsers: new Set() };
        this.#knownUsers.set(key, known);
      }
      const before = known.users.size + known.failedUsers.size;
      for (const u of r.users) known.users.add(u);
      for (const u of r.failedUsers) known.failedUsers.add(u);
      this.#knownCount += known.users.size + known.failedUsers.size - before;
    }
  }

  #pruneFromTimeToTime(now: number): void {
    if (this.#pruning !== null || now - this.#lastPruneAt < PRUNE_EVERY_MS) return;
    this.#lastPruneAt = now;
    this.#pruning = this.#store.signals
      .prune(now - this.#retentionMs)
      .then(
        () => undefined,
        (error: unknown) => {
          this.#onPruneError(error);
        },
      )
      .finally(() => {
        this.#pruning = null;
      });
  }
}

const failed = (e: AppEvent): boolean => e.kind === 'query_failure' || isFailedRequest(e);
