import type { Choice, Chooser, Decision, ScheduleRun } from './schedule-runner.js';
import { seededRandom } from './seeded-random.js';

export const choiceKey = (choice: Choice): string => choice.join('+');

/** Keep running the session that just moved when it can (fewest context switches), else the first. */
export const stickyChooser: Chooser = (movable, _index, previous) => {
  const last = previous?.length === 1 ? previous[0] : undefined;
  return [last !== undefined && movable.includes(last) ? last : (movable[0] ?? '')];
};

/** Follows a recorded prefix of choices, then falls back. */
export function prefixChooser(prefix: readonly Choice[], fallback: Chooser = stickyChooser): Chooser {
  return (movable, index, previous) => {
    const wanted = prefix[index];
    if (wanted && wanted.every((s) => movable.includes(s))) return wanted;
    return fallback(movable, index, previous);
  };
}

/** Preemptions: switching away from a session that could still have moved. */
export function contextSwitches(
  choices: readonly Choice[],
  decisions: readonly Pick<Decision, 'movable'>[],
): number {
  let switches = 0;
  for (let i = 1; i < choices.length; i++) {
    const prev = choices[i - 1] ?? [];
    const cur = choices[i] ?? [];
    const movable = decisions[i]?.movable ?? [];
    if (choiceKey(prev) !== choiceKey(cur) && prev.some((s) => movable.includes(s))) switches++;
  }
  return switches;
}

function alternatives(movable: readonly string[], overlap: boolean): Choice[] {
  const singles = movable.map((m) => [m]);
  if (!overlap) return singles;
  const pairs: Choice[] = [];
  for (let i = 0; i < movable.length; i++) {
    for (let j = i + 1; j < movable.length; j++) pairs.push([movable[i] ?? '', movable[j] ?? '']);
  }
  return [...singles, ...pairs];
}

export type RunSchedule = (chooser: Chooser) => Promise<ScheduleRun>;

export interface ExploreLimits {
  readonly maxSchedules: number;
  /** At most this many context switches (preemptions); unbounded when absent. */
  readonly contextBound?: number;
  readonly overlap: boolean;
}

/**
 * Stateless depth-first search over interleavings: each schedule runs from a fresh state,
 * following a prefix and then the sticky default; at every decision point of a finished run the
 * other sessions that could have moved there become new prefixes. Branches only over sessions
 * that could move. Yields each run; `complete` tells whether the space was exhausted.
 */
export async function* exploreExhaustive(
  run: RunSchedule,
  limits: ExploreLimits,
): AsyncGenerator<ScheduleRun, { complete: boolean }> {
  const stack: Choice[][] = [[]];
  let count = 0;
  while (stack.length > 0) {
    if (count >= limits.maxSchedules) return { complete: false };
    const prefix = stack.pop() ?? [];
    const result = await run(prefixChooser(prefix));
    count++;
    yield result;
    const choices = result.decisions.map((d) => d.choice);
    for (let d = result.decisions.length - 1; d >= prefix.length; d--) {
      const decision = result.decisions[d];
      if (!decision) continue;
      for (const alt of alternatives(decision.movable, limits.overlap).reverse()) {
        if (choiceKey(alt) === choiceKey(decision.choice)) continue;
        const next = [...choices.slice(0, d), alt];
        if (
          limits.contextBound !== undefined &&
          contextSwitches(next, result.decisions) > limits.contextBound
        )
          continue;
        stack.push(next);
      }
    }
  }
  return { complete: true };
}

/**
 * Probabilistic concurrency testing (PCT, Burckhardt et al.): random session priorities, and
 * `depth - 1` random points where the running session drops to the lowest priority. Seeded.
 */
export function pctChooser(
  sessions: readonly string[],
  seed: number,
  expectedSteps: number,
  depth = 3,
): Chooser {
  const random = seededRandom(seed);
  const priority = new Map(sessions.map((s) => [s, depth + random()] as const));
  const changePoints = Array.from({ length: depth - 1 }, () =>
    Math.floor(random() * Math.max(1, expectedSteps)),
  );
  return (movable, index) => {
    let best = movable[0] ?? '';
    for (const m of movable) if ((priority.get(m) ?? 0) > (priority.get(best) ?? 0)) best = m;
    const point = changePoints.indexOf(index);
    if (point >= 0) priority.set(best, point / depth);
    return [best];
  };
}
