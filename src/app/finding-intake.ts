import type { Finding } from '../core/finding.js';
import type { IncidentStore } from '../core/incident-store.js';
import type { Clock, FindingSink } from '../core/ports.js';

export interface FindingIntakeDeps {
  readonly store: IncidentStore;
  /**
   * Called after findings are saved, so the rule cycle runs now instead of at its next tick (a
   * deadlock should be an incident within a second). Usually `() => ruleLoop.nudge()`.
   */
  readonly nudge?: () => void;
}

/**
 * Where findings enter the record: from serve's own watches and from agents' pushes. Saving upserts
 * by id, so an agent retrying a push, or an episode's `closed` report after its `open` one, is kept
 * once.
 */
export class FindingIntake {
  readonly #store: IncidentStore;
  readonly #nudge: () => void;

  constructor(deps: FindingIntakeDeps) {
    this.#store = deps.store;
    this.#nudge = deps.nudge ?? (() => undefined);
  }

  async ingestFindings(findings: readonly Finding[], receivedAt: number): Promise<void> {
    if (findings.length === 0) return;
    await this.#store.findings.save(findings, receivedAt);
    this.#nudge();
  }

  /**
   * A `FindingSink` for a watch running in this process: findings are saved in the order they were
   * published, a batch at a time (those published while a save runs go in the next one), and a failed
   * save is handed to `onError` (the findings of that batch are dropped: the watch goes on).
   */
  sink(
    clock: Clock,
    onError: (error: unknown, findings: readonly Finding[]) => void,
  ): FindingSink & { flushed(): Promise<void> } {
    let queue: Finding[] = [];
    let running: Promise<void> | null = null;
    const drain = async (): Promise<void> => {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        try {
          await this.ingestFindings(batch, clock.now());
        } catch (error) {
          onError(error, batch);
        }
      }
      running = null;
    };
    return {
      publish(finding) {
        queue.push(finding);
        running ??= drain();
      },
      flushed: () => running ?? Promise.resolve(),
    };
  }
}
