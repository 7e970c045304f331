import type { RaceSpec, SessionSpec } from './race-spec.js';
import type { Chooser, ScheduleRun, SessionProgram } from './schedule-runner.js';

const TXN_CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|abort)\b/i;

/** The serial oracle compares whole sessions, so it applies when each session is one transaction. */
export function isSingleTransaction(session: SessionSpec): boolean {
  const steps = session.steps.filter((s) => !s.free);
  if (session.steps.some((s) => s.free)) return true; // YAML: wrapped in BEGIN … COMMIT
  const opened = session.setup.some((sql) => /^\s*(begin|start\s+transaction)\b/i.test(sql));
  const controls = steps.filter((s) => TXN_CONTROL.test(s.sql));
  if (opened) return controls.length === 1 && controls[0] === steps[steps.length - 1];
  return steps.length === 1 && controls.length === 0;
}

export type RunSerial = (
  programs: ReadonlyMap<string, SessionProgram>,
  chooser: Chooser,
) => Promise<ScheduleRun>;

export type OracleVerdict =
  | { readonly kind: 'serializable'; readonly order: readonly string[] }
  | { readonly kind: 'skipped'; readonly reason: string }
  | {
      readonly kind: 'anomaly';
      readonly serialStates: readonly { order: readonly string[]; snapshot: string }[];
    };

/**
 * Serial-equivalence oracle: the final state of the user tables must equal the final state of
 * SOME serial order of the sessions that committed. Finds lost updates and write skew with no
 * annotation. Serial states are cached per order: they do not depend on the schedule.
 */
export class SerialOracle {
  readonly #cache = new Map<string, string | null>();
  readonly #spec: RaceSpec;
  readonly #programs: ReadonlyMap<string, SessionProgram>;
  readonly #runSerial: RunSerial;

  constructor(spec: RaceSpec, programs: ReadonlyMap<string, SessionProgram>, runSerial: RunSerial) {
    this.#spec = spec;
    this.#programs = programs;
    this.#runSerial = runSerial;
  }

  applicable(): string | undefined {
    if (this.#spec.format === 'api') return undefined;
    const multi = this.#spec.sessions.find((s) => !isSingleTransaction(s));
    return multi ? `session ${multi.name} runs more than one transaction` : undefined;
  }

  async check(run: ScheduleRun): Promise<OracleVerdict> {
    const reason = this.applicable();
    if (reason) return { kind: 'skipped', reason };
    const order = [...this.#programs.keys()];
    const committed = order.filter((s) => run.committed.includes(s));
    // A schedule that ran the sessions one after the other is a serial order itself.
    const serialOrder = serialOrderOf(run);
    if (
      serialOrder &&
      serialOrder.length === committed.length &&
      serialOrder.every((s) => committed.includes(s))
    ) {
      this.#cache.set(serialOrder.join(' '), run.snapshot);
      return { kind: 'serializable', order: serialOrder };
    }
    if (committed.length > 5) return { kind: 'skipped', reason: 'more than 5 committed sessions' };
    const serialStates: { order: readonly string[]; snapshot: string }[] = [];
    for (const perm of permutations(committed)) {
      const snapshot = await this.#serialState(perm);
      if (snapshot === null) continue;
      if (snapshot === run.snapshot) return { kind: 'serializable', order: perm };
      serialStates.push({ order: perm, snapshot });
    }
    if (serialStates.length === 0)
      return { kind: 'skipped', reason: 'no serial order of the committed sessions commits them all' };
    return { kind: 'anomaly', serialStates };
  }

  async #serialState(order: readonly string[]): Promise<string | null> {
    const key = order.join(' ');
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const programs = new Map(
      order.map((s) => [s, this.#programs.get(s) ?? (() => Promise.resolve())] as const),
    );
    const run = await this.#runSerial(programs, (movable) => [
      order.find((s) => movable.includes(s)) ?? movable[0] ?? '',
    ]);
    const state = order.every((s) => run.committed.includes(s)) ? run.snapshot : null;
    this.#cache.set(key, state);
    return state;
  }
}

/** The session order when each session ran all its steps before the next one started. */
export function serialOrderOf(run: Pick<ScheduleRun, 'decisions'>): string[] | undefined {
  const order: string[] = [];
  for (const { choice } of run.decisions) {
    const [session] = choice;
    if (choice.length !== 1 || session === undefined) return undefined;
    if (order[order.length - 1] === session) continue;
    if (order.includes(session)) return undefined;
    order.push(session);
  }
  return order;
}

export function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}
