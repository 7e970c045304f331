import { isHindsightError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { FindingDetector } from '../core/finding-detector.js';
import type { DeadlockProcess, DeadlockReport } from '../core/log-event.js';
import type { Clock, FindingSink, RelationRef, TargetReader } from '../core/ports.js';
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
 * thrown, so the CLI can stop with a clear line.
 */
export class WatchCycle {
  readonly #reader: TargetReader;
  readonly #detector: FindingDetector;
  readonly #sink: FindingSink;
  readonly #clock: Clock;
  #state: WatchState;
  #everReached = false;

  constructor(deps: { reader: TargetReader; detector: FindingDetector; sink: FindingSink; clock: Clock }) {
    this.#reader = deps.reader;
    this.#detector = deps.detector;
    this.#sink = deps.sink;
    this.#clock = deps.clock;
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

  /** A deadlock from the server log: relation OIDs are named through the target, then detected. */
  async onDeadlockReport(report: DeadlockReport, signal: AbortSignal): Promise<void> {
    const named = await this.#nameRelations(report, signal);
    this.#publish(this.#detector.onDeadlockReport(named));
  }

  async #nameRelations(report: DeadlockReport, signal: AbortSignal): Promise<DeadlockReport> {
    const refs = report.processes.flatMap((p) => (p.relation === null ? relationRefs(p.waitsForObject) : []));
    if (refs.length === 0) return report;
    const names = await this.#reader.relationNames(refs, signal).catch(() => new Map<string, string>());
    const processes = report.processes.map((p): DeadlockProcess => {
      if (p.relation !== null) return p;
      const ref = relationRefs(p.waitsForObject)[0];
      const name = ref ? names.get(`${ref.databaseOid}/${ref.relationOid}`) : undefined;
      return name === undefined ? p : { ...p, relation: name };
    });
    return { ...report, processes };
  }

  #publish(findings: readonly Finding[]): void {
    if (findings.length === 0) return;
    for (const finding of findings) this.#sink.publish(finding);
    this.#state = {
      ...this.#state,
      recentFindings: [...this.#state.recentFindings, ...findings].slice(-RECENT_FINDINGS),
    };
  }

  /** For the view's clock line. */
  now(): number {
    return this.#clock.now();
  }
}

/** `tuple (0,1) of relation 16385 of database 5` → `{ databaseOid: 5, relationOid: 16385 }`. */
export function relationRefs(lockObject: string): RelationRef[] {
  const match = /relation (\d+) of database (\d+)/.exec(lockObject);
  if (!match) return [];
  return [{ relationOid: Number(match[1]), databaseOid: Number(match[2]) }];
}
