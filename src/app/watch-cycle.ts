import { isHindsightError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { FindingDetector } from '../core/finding-detector.js';
import type { DeadlockReport } from '../core/log-event.js';
import type { FindingSink, TargetReader } from '../core/ports.js';
import type { Sample } from '../core/sample.js';

/** What a live view shows between findings. */
export interface WatchState {
  readonly target: string;
  readonly reachable: boolean;
  /** Set when unreachable: why the last attempt failed. */
  readonly problem: string | null;
  readonly lastSample: Sample | null;
  readonly samplesTaken: number;
  readonly recentFindings: readonly Finding[];
}

const RECENT_FINDINGS = 20;

/**
 * One target's watch: each `tick` samples it and runs the detector; log deadlock reports come in
 * through `onDeadlockReport`. A target that cannot be reached is a finding, not a failure; only a
 * problem that retrying cannot fix (bad password, missing grant) before the first good sample is
 * thrown, so the watch can stop with a clear line.
 */
export class WatchCycle {
  readonly #reader: TargetReader;
  readonly #detector: FindingDetector;
  readonly #sink: FindingSink;
  #state: WatchState;
  #everReached = false;

  constructor(deps: { reader: TargetReader; detector: FindingDetector; sink: FindingSink }) {
    this.#reader = deps.reader;
    this.#detector = deps.detector;
    this.#sink = deps.sink;
    this.#state = {
      target: deps.reader.name,
      reachable: true,
      problem: null,
      lastSample: null,
      samplesTaken: 0,
      recentFindings: [],
    };
  }

  get state(): WatchState {
    return this.#state;
  }

  async tick(signal: AbortSignal): Promise<void> {
    let sample: Sample;
    try {
      sample = await this.#reader.sample(signal);
    } catch (error) {
      if (signal.aborted) return;
      if (!this.#everReached && isHindsightError(error) && error.kind === 'user') throw error;
      const reason = error instanceof Error ? error.message : String(error);
      this.#state = { ...this.#state, reachable: false, problem: reason };
      this.#publish(this.#detector.onUnreachable(reason));
      return;
    }
    this.#everReached = true;
    const recovered = this.#state.reachable ? [] : this.#detector.onReachable();
    this.#state = {
      ...this.#state,
      reachable: true,
      problem: null,
      lastSample: sample,
      samplesTaken: this.#state.samplesTaken + 1,
    };
    this.#publish([...recovered, ...this.#detector.onSample(sample)]);
  }

  /**
   * A deadlock from the server log, as the target's `ServerLogSource` hands it on: relations
   * already named, queries already normalized.
   */
  onDeadlockReport(report: DeadlockReport): void {
    this.#publish(this.#detector.onDeadlockReport(report));
  }

  #publish(findings: readonly Finding[]): void {
    if (findings.length === 0) return;
    for (const finding of findings) this.#sink.publish(finding);
    this.#state = {
      ...this.#state,
      recentFindings: [...this.#state.recentFindings, ...findings].slice(-RECENT_FINDINGS),
    };
  }
}
