import type { Clock } from '../core/ports.js';
import { sleep as abortableSleep } from '../platform/abortable-sleep.js';
import { Backoff } from '../platform/backoff.js';
import type { Logger } from '../platform/logger.js';

/** One pass of a paging cycle: the escalation cycle, or the outbox sender. */
export type PagingPass = (now: number, signal: AbortSignal) => Promise<unknown>;

export interface PagingLoopOptions {
  /** For logs: `escalation`, `outbox`. */
  readonly name: string;
  readonly signal: AbortSignal;
  readonly logger: Pick<Logger, 'error'>;
  readonly clock: Clock;
  /** Between passes when nothing nudges. Default 1000 ms. */
  readonly intervalMs?: number;
  /** A nudged pass starts at least this long after the previous one started. Default 50 ms. */
  readonly minGapMs?: number;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** After each pass (ok or not) with its duration in ms. */
  readonly onPass?: (ok: boolean, durationMs: number) => void;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Runs a paging pass every `intervalMs`, and soon after a `nudge()` (an incident changed, messages
 * were written), never two at a time; a failed pass (the store down) is logged and retried with
 * backoff. Each pass recomputes from the store, so a replica that dies mid-pass loses nothing.
 * `run()` resolves once `signal` aborts and the pass in progress has ended.
 */
export class PagingLoop {
  readonly #pass: PagingPass;
  readonly #o: PagingLoopOptions;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  #nudged = false;
  #wake: AbortController | null = null;
  #running: Promise<void> | null = null;

  constructor(pass: PagingPass, options: PagingLoopOptions) {
    this.#pass = pass;
    this.#o = options;
    this.#sleep = options.sleep ?? abortableSleep;
  }

  nudge(): void {
    this.#nudged = true;
    this.#wake?.abort();
  }

  run(): Promise<void> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  async #loop(): Promise<void> {
    const { signal, logger } = this.#o;
    const interval = this.#o.intervalMs ?? 1000;
    const minGap = Math.min(this.#o.minGapMs ?? 50, interval);
    const backoff = new Backoff({
      initialMs: this.#o.backoff?.initialMs ?? 500,
      maxMs: this.#o.backoff?.maxMs ?? 10_000,
    });
    const aborted = (): boolean => signal.aborted;
    while (!aborted()) {
      this.#nudged = false;
      const started = performance.now();
      let ok = true;
      try {
        await this.#pass(this.#o.clock.now(), signal);
        backoff.reset();
      } catch (error) {
        ok = false;
        logger.error({ err: error }, `${this.#o.name} cycle failed; retrying with backoff`);
      }
      try {
        this.#o.onPass?.(ok, performance.now() - started);
      } catch (error) {
        logger.error({ err: error }, `${this.#o.name} loop callback failed`);
      }
      if (aborted()) break;
      if (!ok) {
        await this.#sleep(backoff.next(), signal);
        continue;
      }
      if (!this.#wasNudged()) await this.#sleepUntilNudged(interval - (performance.now() - started));
      const gap = minGap - (performance.now() - started);
      if (gap > 0 && !aborted()) await this.#sleep(gap, signal);
    }
  }

  /** A method, not the field: it changes while we await, which narrowing cannot see. */
  #wasNudged(): boolean {
    return this.#nudged;
  }

  async #sleepUntilNudged(ms: number): Promise<void> {
    if (ms <= 0) return;
    const { signal } = this.#o;
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
}
