import type { WatchState } from '../app/watch-cycle.js';
import type { Finding } from '../core/finding.js';
import { hostFigures, type HostFigures, type HostReader, type HostReading } from '../core/host-figures.js';
import type { FindingSink } from '../core/ports.js';
import type { Sample } from '../core/sample.js';
import {
  createDeadlockTally,
  targetMetricValues,
  type DeadlockTally,
  type TargetMetricValues,
} from '../core/target-metric-values.js';
import type { Logger } from '../platform/logger.js';

/** One target as an exporter reads it at scrape time. */
export interface TargetMetricsView {
  readonly target: string;
  /** The last sample attempt reached the target. */
  readonly reachable: boolean;
  /** From the last good sample; null before the first. Computed once per sample, when first read. */
  readonly values: TargetMetricValues | null;
  /** Deadlocks found since the watch started (live, log and counter findings; each deadlock once). */
  readonly deadlocks: number;
  /** Null when the target is not on this host, host reading is off, or no interval was read yet. */
  readonly host: HostFigures | null;
}

interface Entry {
  reachable: boolean;
  sample: Sample | null;
  values: { readonly of: Sample; readonly values: TargetMetricValues } | null;
  readonly tally: DeadlockTally;
  reader: HostReader | null;
  reading: HostReading | null;
  host: HostFigures | null;
  readingHost: boolean;
}

export interface TargetMetricsBoardDeps {
  /** The host reader of a target (null: not on this host, or turned off); asked once per target. */
  readonly hostReader?: (target: string) => HostReader | null;
  readonly logger: Pick<Logger, 'warn'>;
  /** Stops host reads in flight. */
  readonly signal?: AbortSignal;
}

/**
 * What the exporter serves, kept between scrapes: each target's last sample, its deadlock count
 * (findings teed off the watch's sink) and its host figures (read after each sample when the
 * target is on this host). A sample only replaces a reference: the metric values are computed
 * when scraped, once per sample, so a watch sampling every second allocates nothing for metrics
 * nobody reads.
 */
export class TargetMetricsBoard {
  readonly #entries = new Map<string, Entry>();
  readonly #deps: TargetMetricsBoardDeps;

  constructor(deps: TargetMetricsBoardDeps) {
    this.#deps = deps;
  }

  /** A configured target, shown (`pg_up 0`) before its first sample — also when its watch cannot start. */
  known(target: string): void {
    this.#entry(target);
  }

  /** After each sample attempt of a watch (`TargetWatch.listen({ sampled })`, the supervisor's `onSampled`). */
  sampled(target: string, state: WatchState): void {
    const entry = this.#entry(target);
    entry.reachable = state.reachable;
    const sample = state.lastSample;
    if (!state.reachable || sample === null || sample === entry.sample) return;
    entry.sample = sample;
    if (entry.reader !== null && !entry.readingHost) void this.#readHost(entry, sample);
  }

  /** Counts a target's deadlock findings. */
  publish(finding: Finding): void {
    if (finding.kind === 'deadlock') this.#entry(finding.target).tally.record(finding);
  }

  /** `sink` with every finding also counted here. */
  tee(sink: FindingSink): FindingSink {
    return {
      publish: (finding) => {
        this.publish(finding);
        sink.publish(finding);
      },
    };
  }

  /** A target's latest host figures (the interval before its last sample); null when not read. */
  host(target: string): HostFigures | null {
    return this.#entries.get(target)?.host ?? null;
  }

  views(): TargetMetricsView[] {
    return [...this.#entries].map(([target, entry]) => {
      let values = entry.values;
      if (entry.sample !== null && values?.of !== entry.sample)
        values = entry.values = { of: entry.sample, values: targetMetricValues(entry.sample) };
      return {
        target,
        reachable: entry.reachable,
        values: values?.values ?? null,
        deadlocks: entry.tally.total,
        host: entry.host,
      };
    });
  }

  #entry(target: string): Entry {
    let entry = this.#entries.get(target);
    if (entry === undefined) {
      entry = {
        reachable: false,
        sample: null,
        values: null,
        tally: createDeadlockTally(),
        reader: this.#deps.hostReader?.(target) ?? null,
        reading: null,
        host: null,
        readingHost: false,
      };
      this.#entries.set(target, entry);
    }
    return entry;
  }

  /** Reads the host for this sample's backends; a read still running when the next sample lands skips that one. */
  async #readHost(entry: Entry, sample: Sample): Promise<void> {
    const reader = entry.reader;
    if (reader === null) return;
    entry.readingHost = true;
    try {
      // Idle sessions burn no CPU: with hundreds of pooled connections, reading only the others
      // keeps a read to a few files. One becoming active is measured from its second sample on.
      const reading = await reader.read(
        sample.sessions.filter((s) => s.state !== 'idle').map((s) => s.pid),
        this.#deps.signal ?? new AbortController().signal,
      );
      if (reading === null) {
        entry.reading = null;
        entry.host = null;
        return;
      }
      if (entry.reading !== null) entry.host = hostFigures(entry.reading, reading, sample);
      entry.reading = reading;
    } catch (error) {
      this.#deps.logger.warn(
        { err: error, target: sample.target },
        'could not read the host; host metrics left out',
      );
      entry.host = null;
    } finally {
      entry.readingHost = false;
    }
  }
}
