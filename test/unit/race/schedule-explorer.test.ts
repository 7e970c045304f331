import { describe, expect, it } from 'vitest';
import {
  contextSwitches,
  exploreExhaustive,
  pctChooser,
  prefixChooser,
  stickyChooser,
} from '../../../src/race/schedule-explorer.js';
import type { Choice, Chooser, ScheduleRun } from '../../../src/race/schedule-runner.js';

/** A pure model of sessions with n steps each and nothing blocking: the runner the explorer drives. */
function model(steps: Record<string, number>): (chooser: Chooser) => Promise<ScheduleRun> {
  return (chooser) => {
    const left = new Map(Object.entries(steps));
    const decisions: { movable: string[]; choice: Choice }[] = [];
    let previous: Choice | undefined;
    for (;;) {
      const movable = [...left].filter(([, n]) => n > 0).map(([s]) => s);
      if (movable.length === 0) break;
      const choice = chooser(movable, decisions.length, previous);
      for (const s of choice) left.set(s, (left.get(s) ?? 0) - 1);
      decisions.push({ movable, choice });
      previous = choice;
    }
    return Promise.resolve({
      decisions,
      events: [],
      committed: [],
      invariantFailures: [],
      snapshot: '',
      stalls: [],
      diverged: false,
      unstableVictim: false,
    });
  };
}

async function all(
  steps: Record<string, number>,
  limits: { contextBound?: number; overlap?: boolean } = {},
): Promise<string[]> {
  const out: string[] = [];
  for await (const run of exploreExhaustive(model(steps), {
    maxSchedules: 10_000,
    overlap: limits.overlap ?? false,
    ...(limits.contextBound === undefined ? {} : { contextBound: limits.contextBound }),
  })) {
    out.push(run.decisions.map((d) => d.choice.join('+')).join(' '));
  }
  return out;
}

describe('exploreExhaustive', () => {
  it('visits every interleaving exactly once (multinomial count)', async () => {
    const runs = await all({ a: 2, b: 2 });
    expect(runs).toHaveLength(6);
    expect(new Set(runs).size).toBe(6);
    expect(runs[0]).toBe('a a b b'); // the sticky default first: the serial schedule
    expect(await all({ a: 2, b: 2, c: 1 })).toHaveLength(30);
  });

  it('bounds context switches', async () => {
    const runs = await all({ a: 2, b: 2 }, { contextBound: 0 });
    expect(runs).toEqual(['a a b b', 'b b a a']);
    expect((await all({ a: 3, b: 3 }, { contextBound: 1 })).length).toBeLessThan(20);
  });

  it('adds simultaneous releases in overlap mode', async () => {
    expect(await all({ a: 1, b: 1 }, { overlap: true })).toEqual(['a b', 'b a', 'a+b']);
  });
});

describe('choosers', () => {
  it('prefixChooser follows the prefix while it can, then sticks', () => {
    const c = prefixChooser([['b'], ['zz']]);
    expect(c(['a', 'b'], 0, undefined)).toEqual(['b']);
    expect(c(['a', 'b'], 1, ['b'])).toEqual(['b']);
    expect(stickyChooser(['a', 'b'], 0, ['c'])).toEqual(['a']);
  });

  it('PCT is a pure function of its seed', () => {
    const trace = (seed: number): string => {
      const c = pctChooser(['a', 'b', 'c'], seed, 9);
      return Array.from({ length: 9 }, (_, i) => c(['a', 'b', 'c'], i, undefined).join('')).join('');
    };
    expect(trace(7)).toBe(trace(7));
    expect(new Set([1, 2, 3, 4, 5, 6].map(trace)).size).toBeGreaterThan(1);
  });

  it('counts only preemptions as context switches', () => {
    const decisions = [{ movable: ['a', 'b'] }, { movable: ['a', 'b'] }, { movable: ['b'] }];
    expect(contextSwitches([['a'], ['b'], ['b']], decisions)).toBe(1);
    expect(
      contextSwitches(
        [['a'], ['a'], ['b']],
        [{ movable: ['a', 'b'] }, { movable: ['a', 'b'] }, { movable: ['b'] }],
      ),
    ).toBe(0);
  });
});
