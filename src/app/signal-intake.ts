import type { AppEvent, RouteRollup } from '../core/app-signal.js';
import { foldEvents, mergeRollupList } from '../core/app-signal-rollup.js';
import type { IncidentStore } from '../core/incident-store.js';

/** How long rollups are kept by default: two weeks of history for baselines and incidents. */
export const DEFAULT_SIGNAL_RETENTION_MS = 14 * 24 * 3_600_000;
/** How often (by the batches' receive times) old rollups are pruned. */
const PRUNE_EVERY_MS = 10 * 60_000;

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
  readonly rollups: RouteRollup[];
  readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * Where the web app's events enter the record (`POST /api/v1/events`, OTLP `/v1/traces`): each batch
 * is folded into route rollups and merged into the store, and the call resolves only once that is
 * committed — a reply sent after it survives a `kill -9`.
 *
 * Batches arriving while a merge is in flight are folded together and merged by the next one, in one
 * statement: under load the store sees one upsert per commit, not one per request (group commit).
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
    await this.#merge(foldEvents(events));
    this.#count('accepted', events.length);
    this.#nudge();
    this.#pruneFromTimeToTime(receivedAt);
  }

  /** Resolves when no merge or prune is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#flight !== null || this.#pruning !== null) await Promise.allSettled([this.#flight, this.#pruning]);
  }

  #merge(rollups: RouteRollup[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#next ??= { rollups: [], waiters: [] };
      this.#next.rollups.push(...rollups);
      this.#next.waiters.push({ resolve, reject });
      this.#flight ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    for (let batch = this.#next; batch !== null; batch = this.#next) {
      this.#next = null;
      try {
        await this.#store.signals.merge(mergeRollupList(batch.rollups));
        for (const w of batch.waiters) w.resolve();
      } catch (error) {
        for (const w of batch.waiters) w.reject(error);
      }
    }
    this.#flight = null;
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
