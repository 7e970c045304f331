import { userError } from '../core/errors.js';
import type { HindsightError } from '../core/errors.js';
import { permutations } from './serial-oracle.js';
import type { Chooser, ScheduleRun } from './schedule-runner.js';
import type { TraceEvent } from './step-result.js';

/** Orders in which to run the sessions one after the other: every order up to 4 sessions
 *  (24 runs at most), else each session first once. */
export function serialOrders(sessions: readonly string[]): string[][] {
  if (sessions.length <= 4) return permutations(sessions);
  return sessions.map((first) => [first, ...sessions.filter((s) => s !== first)]);
}

/** Runs the first session of `order` that can move: one after the other, no interleaving. */
export function serialChooser(order: readonly string[]): Chooser {
  return (movable) => [order.find((s) => movable.includes(s)) ?? movable[0] ?? ''];
}

/** The first error of each session in a run (later ones are usually its 25P02 echoes). */
function firstErrors(run: ScheduleRun): TraceEvent[] {
  const seen = new Set<string>();
  return run.events.filter((e) => {
    // race's own cancel (its step timeout) says nothing about the spec.
    if (e.kind !== 'error' || e.cancelledByRace || seen.has(e.session)) return false;
    seen.add(e.session);
    return true;
  });
}

/**
 * A statement that fails in every serial order, with the same SQLSTATE, fails with no
 * interleaving at all: the spec is broken (a typo, a missing table), not racy. Counting such
 * errors as outcomes would pass a test that cannot fail. Returns the error to stop with.
 */
export function brokenSpecError(
  specName: string,
  runs: readonly { order: readonly string[]; run: ScheduleRun }[],
): HindsightError | undefined {
  const [first, ...rest] = runs;
  if (!first) return undefined;
  const key = (e: TraceEvent): string => `${e.session}\0${e.step}\0${e.code ?? ''}`;
  const always = firstErrors(first.run).find((e) =>
    rest.every(({ run }) => firstErrors(run).some((x) => key(x) === key(e))),
  );
  if (!always) return undefined;
  const orders = runs.map((r) => r.order.join(' then ')).join('; ');
  return userError(
    'RACE_SPEC_BROKEN',
    `${specName}: session ${always.session}, step ${always.step} fails even when the sessions run one after the other (${orders}): ` +
      `${flat(always.sql)} → ${always.code ?? ''} ${always.message ?? ''}; fix the spec and run again`,
  );
}

const flat = (sql: string): string => sql.replace(/\s+/g, ' ').trim();
