import type { Clock, IdSource } from './ports.js';
import type { Sample } from './sample.js';

/** Thresholds of the finding detector; every one has a default (see DEFAULT_THRESHOLDS). */
export interface DetectorThresholds {
  /** A blocking episode opens when a lock wait is older than this. */
  readonly blockingMs: number;
  /** A lock-wait storm is at least this many waiters on one relation at once. */
  readonly stormWaiters: number;
  readonly longTransactionMs: number;
  readonly idleInTransactionMs: number;
  /**
   * `pg_stat_database.deadlocks` lags the deadlock by up to ~10 s on PostgreSQL 15+: a counter
   * increase is only reported once this long has passed without a log or live deadlock to explain it.
   */
  readonly counterGraceMs: number;
  /** A log report this close to a live cycle of the same pids is the same deadlock. */
  readonly deadlockMergeWindowMs: number;
}

export const DEFAULT_THRESHOLDS: DetectorThresholds = {
  blockingMs: 1_000,
  stormWaiters: 10,
  longTransactionMs: 5 * 60_000,
  idleInTransactionMs: 30_000,
  counterGraceMs: 10_000,
  deadlockMergeWindowMs: 15_000,
};

/** What every part of the detector shares. */
export interface DetectorContext {
  readonly target: string;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly thresholds: DetectorThresholds;
  /** Our own sessions' `application_name`, never reported as long or idle transactions. */
  readonly ownApplication: string;
}

/**
 * Age at sample time of a server-side timestamp (`xact_start`, `state_change`, `waitstart`),
 * against the server's clock when the sample has it, so agent/server clock skew does not matter.
 * Whole milliseconds: the server's clock comes with microseconds, and a fraction reaching a
 * finding's times (an episode's start is the sample's time less its longest wait) made the
 * PostgreSQL store refuse the finding (its times are bigint).
 */
export const ageAt = (sample: Sample, serverTime: number | null): number | null =>
  serverTime === null ? null : Math.max(0, Math.round((sample.serverNow ?? sample.takenAt) - serverTime));
