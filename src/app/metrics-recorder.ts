import type { HostFigures } from '../core/host-figures.js';
import type { IncidentStore } from '../core/incident-store.js';
import {
  seriesAccumulator,
  type SeriesAccumulator,
  type SeriesInterval,
  type SeriesPoint,
  type StatementPoint,
} from '../core/metrics-series.js';
import type { Sample } from '../core/sample.js';

export interface MetricsRecorderDeps {
  /** Where closed intervals are saved (serve)… */
  readonly store?: IncidentStore;
  /** …or handed instead (the agent: its push client). */
  readonly save?: (points: readonly SeriesPoint[], statements: readonly StatementPoint[]) => Promise<void>;
  /** Default 10 s: the finest tier of the downsampling. */
  readonly resolutionMs?: number;
  /** Default 60 s: the finest tier statements are kept at (core's statementTiers). */
  readonly statementsResolutionMs?: number;
  readonly topStatements?: number;
  /** A failed save (the store down): that interval is lost, recording goes on. */
  readonly onError: (error: unknown, intervals: number) => void;
}

/**
 * What is kept of samples: one series point per target per interval and its top statements
 * (core/metrics-series.ts), from serve's own watches (`record`, every sample) and from agents'
 * pushes (`ingest`, intervals the agent closed). Saves are queued, one at a time, in order.
 */
export class MetricsRecorder {
  readonly #deps: MetricsRecorderDeps;
  readonly #targets = new Map<string, { acc: SeriesAccumulator; lastTakenAt: number }>();
  #queue: SeriesInterval[] = [];
  #running: Promise<void> | null = null;

  constructor(deps: MetricsRecorderDeps) {
    if (deps.store === undefined && deps.save === undefined)
      throw new Error('MetricsRecorder needs a store or a save function');
    this.#deps = deps;
  }

  /**
   * A watch's latest sample, with the host's latest figures when its host is read; the same
   * sample seen twice (a failed attempt re-reports it) counts once.
   */
  record(sample: Sample, host: HostFigures | null = null): void {
    let entry = this.#targets.get(sample.target);
    if (entry === undefined) {
      entry = { acc: intervalsOf(sample.target, this.#deps), lastTakenAt: -Infinity };
      this.#targets.set(sample.target, entry);
    }
    if (sample.takenAt <= entry.lastTakenAt) return;
    entry.lastTakenAt = sample.takenAt;
    const closed = entry.acc.add(sample, host);
    if (closed !== null) this.#enqueue([closed]);
  }

  /** Closes every open interval that ended at or before `now` (all of them at shutdown: Infinity). */
  closeIdle(now: number): void {
    const closed = [...this.#targets.values()].flatMap((entry) => entry.acc.close(now) ?? []);
    if (closed.length > 0) this.#enqueue(closed);
  }

  /** Intervals an agent closed and pushed: saved now (an agent retrying a push overwrites the same keys). */
  async ingest(points: readonly SeriesPoint[], statements: readonly StatementPoint[]): Promise<void> {
    if (this.#deps.save !== undefined) return this.#deps.save(points, statements);
    const store = this.#deps.store;
    if (store === undefined) return;
    await store.metrics.savePoints(points);
    await store.metrics.saveStatements(statements);
  }

  /** Resolves once every queued save has ended. */
  flushed(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  #enqueue(intervals: readonly SeriesInterval[]): void {
    this.#queue.push(...intervals);
    this.#running ??= this.#drain();
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await this.ingest(
          batch.map((i) => i.point),
          batch.flatMap((i) => i.statements),
        );
      } catch (error) {
        this.#deps.onError(error, batch.length);
      }
    }
    this.#running = null;
  }
}

const intervalsOf = (target: string, deps: MetricsRecorderDeps): SeriesAccumulator =>
  seriesAccumulator({
    target,
    ...(deps.resolutionMs === undefined ? {} : { resolutionMs: deps.resolutionMs }),
    ...(deps.statementsResolutionMs === undefined
      ? {}
      : { statementsResolutionMs: deps.statementsResolutionMs }),
    ...(deps.topStatements === undefined ? {} : { topStatements: deps.topStatements }),
  });
