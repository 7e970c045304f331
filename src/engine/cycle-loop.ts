import type { Clock } from '../core/ports.js';
import { sleep as abortableSleep } from '../platform/abortable-sleep.js';
import { Backoff } from '../platform/backoff.js';
import type { Logger } from '../platform/logger.js';

/** One pass of a cycle at `now`: the rule cycle, the escalation cycle, the outbox sender. */
export type CyclePass<R> = (now: number, signal: AbortSignal) => Promise<R>;

export interface CycleLoopOptions<R> {
  /** For logs: `rule`, `escalation`, `outbox`. */
  readonly name?: string;
  readonly signal: AbortSignal;
  readonly logger: Pick<Logger, 'error'>;
  /** The time each cycle evaluates at. */
  readonly clock: Clock;
  /** Between cycles when nothing nudges. Default 1000 ms. */
  readonly intervalMs?: number;
  /** A nudged cycle starts at least this long after the previous one started, so a stream of findings cannot spin the loop. Default 100 ms. */
  readonly minGapMs?: number;
  /** Backoff after a failed cycle (the store down): 0.5 s doubling to 10 s by default. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** After every successful cycle: its report and duration in ms (the Prometheus histogram). */
  readonly onCycle?: (report: R, durationMs: number) => void;
  /** After every failed cycle, once logged. */
  readonly onFailure?: (error: unknown, durationMs: number) => void;
  /** A monotonic ms reading for durations. Default `performance.now`. */
  readonly elapsed?: () => number;
  /** How the loop waits (tests pass a controllable one). Must resolve early when `signal` aborts. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Runs a cycle every `intervalMs`, and at once when `nudge()`d (new findings saved, an incident
 * opened, messages written), never two at a time: a nudge during a cycle runs one more right after
 * it. A failed cycle (the store unreachable) is logged and retried with backoff; nudges do not cut a
 * backoff short. Each cycle recomputes from the store, so a replica that dies mid-cycle loses
 * nothing. Stops when `signal` aborts: `run()` resolves once the cycle in progress has finished.
 * The rule loop, the escalation loop and the outbox sender of `serve` are each one of these.
 */
export class CycleLoop<R> {
  readonly #pass: CyclePass<R>;
  readonly #name: string;
  readonly #options: CycleLoopOptions<R>;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #elapsed: () => number;
  #nudged = false;
  #wake: AbortController | null = null;
  #running: Promise<void> | null = null;

  constructor(pass: CyclePass<R>, options: CycleLoopOptions<R>) {
    this.#pass = pass;
    this.#name = options.name ?? 'cycle';
    this.#options = options;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#elapsed = options.elapsed ?? (() => performance.now());
  }

  /** Run a cycle as soon as possible (there is new work). Safe to call at any time, any number of times. */
  nudge(): void {
    this.#nudged = true;
    this.#wake?.abort();
  }

  /** Runs until the signal aborts. Calling it again while it runs returns the same promise. */
  run(): Promise<void> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  async #loop(): Promise<void> {
    const { signal, logger } = this.#options;
    const interval = this.#options.intervalMs ?? 1000;
    const minGap = Math.min(this.#options.minGapMs ?? 100, interval);
    const backoff = new Backoff({
      initialMs: this.#options.backoff?.initialMs ?? 500,
      maxMs: this.#options.backoff?.maxMs ?? 10_000,
    });
    // A function, not the property: it changes while we await, which narrowing cannot see.
    const aborted = (): boolean => signal.aborted;
    while (!aborted()) {
      this.#nudged = false;
      const started = this.#elapsed();
      let failed = false;
      try {
        const report = await this.#pass(this.#options.clock.now(), signal);
        backoff.reset();
        this.#report(() => this.#options.onCycle?.(report, this.#elapsed() - started));
      } catch (error) {
        failed = true;
        logger.error({ err: error }, `${this.#name} cycle failed; retrying with backoff`);
        this.#report(() => this.#options.onFailure?.(error, this.#elapsed() - started));
      }
      if (aborted()) break;
      if (failed) {
        await this.#sleep(backoff.next(), signal);
        continue;
      }
      if (!this.#wasNudged()) await this.#sleepUntilNudged(interval - (this.#elapsed() - started));
      // Nudged (during the cycle or the wait): go again, but not sooner than `minGap` after this one began.
      const gap = minGap - (this.#elapsed() - started);
      if (gap > 0 && !aborted()) await this.#sleep(gap, signal);
    }
  }

  #wasNudged(): boolean {
    return this.#nudged;
  }

  /** Sleeps `ms`, ending early on a nudge or an abort. */
  async #sleepUntilNudged(ms: number): Promise<void> {
    if (ms <= 0) return;
    const { signal } = this.#options;
    const wake = new AbortController();
    const stop = (): void => {
      wake.abort();
    };
    signal.addEventListener('abort', stop, { once: true });
    this.#wake = wake;
    try {
      await this.#sleep(ms, wake.signal);
    } finally {
      this.#wake = null;
      signal.removeEventListener('abort', stop);
    }
  }

  /** Callbacks are the caller's code: one that throws must not stop the loop. */
  #report(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.#options.logger.error({ err: error }, `${this.#name} loop callback failed`);
    }
  }
}
