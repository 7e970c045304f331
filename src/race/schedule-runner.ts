import { userError } from '../core/errors.js';
import { controlledClient } from './race-client.js';
import type { PendingQuery, RaceClient } from './race-client.js';
import { findStep } from './race-spec.js';
import type { Permutation, RaceSpec } from './race-spec.js';
import type { ScheduleEngine, StepToRun } from './schedule-engine.js';
import { snapshotUserTables } from './state-snapshot.js';
import type { StepResult, TraceEvent } from './step-result.js';

/** Application code of one session; it throws when its transaction did not commit. */
export type SessionProgram = (db: RaceClient) => Promise<void>;

/** Sessions released at one scheduling point: one, or several at the same instant (overlap). */
export type Choice = readonly string[];

export interface Decision {
  readonly movable: readonly string[];
  readonly choice: Choice;
}

/** Picks the next session(s) to move among those that can. */
export type Chooser = (movable: readonly string[], index: number, previous: Choice | undefined) => Choice;

export interface StallRecord {
  readonly session: string;
  readonly step: string;
  readonly waitsFor: readonly string[];
}

export interface ScheduleRun {
  readonly decisions: readonly Decision[];
  readonly events: readonly TraceEvent[];
  /** Sessions whose code finished without an error (their transaction committed). */
  readonly committed: readonly string[];
  readonly invariantFailures: readonly { name: string; sql: string; value: unknown }[];
  readonly snapshot: string;
  readonly stalls: readonly StallRecord[];
  /** A replayed prefix named a session that could not move. */
  readonly diverged: boolean;
  /** A deadlock victim was not the statement that closed the cycle (the server was too slow to
   *  run the earlier waiter's deadlock check in time): the run should be repeated. */
  readonly unstableVictim: boolean;
}

/** True when some 40P01 hit a session other than the one that started waiting last. */
export function victimIsUnstable(events: readonly TraceEvent[]): boolean {
  return events.some((e, i) => {
    if (e.kind !== 'error' || e.code !== '40P01') return false;
    const waiting = new Map<string, number>();
    for (const x of events.slice(0, i)) {
      if (x.kind === 'waits') waiting.set(x.session, x.seq);
      else waiting.delete(x.session);
    }
    const latest = [...waiting.entries()].sort((p, q) => q[1] - p[1])[0];
    return latest !== undefined && latest[0] !== e.session;
  });
}

/** Each spec session as a program: its steps in order, going on after errors like the isolation tester. */
export function specPrograms(spec: RaceSpec): Map<string, SessionProgram> {
  return new Map(
    spec.sessions.map((session) => [
      session.name,
      async (db: RaceClient) => {
        const stepper = db as RaceClient & {
          step(name: string, sql: string, free: boolean): Promise<StepResult>;
        };
        let failed: StepResult | undefined;
        for (const step of session.steps) {
          const result = await stepper.step(step.name, step.sql, step.free ?? false);
          if (!result.ok) failed ??= result;
          else if (/^\s*rollback\s*;?\s*$/i.test(step.sql)) failed ??= result;
        }
        if (failed) throw new Error(failed.message ?? 'rolled back');
      },
    ]),
  );
}

/**
 * Runs one schedule from a fresh state: the sessions' programs run concurrently, and at each
 * point where the world is still the chooser picks which parked session(s) move next.
 */
export async function runProgramSchedule(
  engine: ScheduleEngine,
  spec: RaceSpec,
  programs: ReadonlyMap<string, SessionProgram>,
  chooser: Chooser,
): Promise<ScheduleRun> {
  await engine.reset(spec);
  const pending = new Map<string, PendingQuery>();
  const committed: string[] = [];
  const finished: Promise<void>[] = [];
  const counters = new Map<string, number>();
  for (const [name, program] of programs) {
    const session = engine.session(name);
    session.programmed = true;
    session.state = 'js';
    const client = controlledClient((query) => {
      pending.set(name, query);
      session.state = 'parked';
      engine.poke();
    });
    finished.push(
      program(client)
        .then(
          () => {
            committed.push(name);
          },
          () => undefined,
        )
        .finally(async () => {
          if (spec.format === 'api') await engine.rollbackQuietly(name);
          session.state = 'done';
          engine.poke();
        }),
    );
  }
  const take = (name: string): { query: PendingQuery; step: StepToRun } | undefined => {
    const query = pending.get(name);
    if (!query) return undefined;
    pending.delete(name);
    engine.session(name).state = 'idle';
    const n = (counters.get(name) ?? 0) + 1;
    counters.set(name, n);
    const step: StepToRun = {
      name: query.stepName ?? `${name}#${n}`,
      sql: query.text,
      ...(query.params ? { params: query.params } : {}),
      ...(query.callSite ? { callSite: query.callSite } : {}),
      ...(query.rowMode ? { rowMode: query.rowMode } : {}),
    };
    return { query, step };
  };
  const release = (name: string): void => {
    const taken = take(name);
    if (taken) void engine.send(name, taken.step).then(taken.query.settle);
  };
  const releaseTogether = async (names: Choice): Promise<void> => {
    const taken = names.flatMap((name) => {
      const t = take(name);
      return t ? [{ session: name, ...t }] : [];
    });
    const results = await engine.sendTogether(taken);
    results.forEach((r, i) => void r.then((result) => taken[i]?.query.settle(result)));
  };
  const decisions: Decision[] = [];
  const stalls: StallRecord[] = [];
  let previous: Choice | undefined;
  for (;;) {
    await engine.settle();
    const free = [...pending].filter(([, q]) => q.free).map(([n]) => n);
    if (free.length > 0) {
      free.forEach(release);
      continue;
    }
    const movable = [...programs.keys()].filter((n) => pending.has(n));
    if (movable.length === 0) {
      const blocked = engine.blocked();
      if (blocked.length === 0) break;
      stalls.push(...blocked);
      await engine.cancel(blocked.map((b) => engine.session(b.session).pid));
      continue;
    }
    const choice = chooser(movable, decisions.length, previous);
    decisions.push({ movable, choice });
    previous = choice;
    if (choice.length > 1) await releaseTogether(choice);
    else choice.forEach(release);
  }
  await Promise.all(finished);
  return finishSchedule(engine, spec, { decisions, committed, stalls, diverged: false });
}

/** Runs a fixed permutation the way the isolation tester does, honouring its annotations. */
export async function runPermutation(
  engine: ScheduleEngine,
  spec: RaceSpec,
  permutation: Permutation,
): Promise<ScheduleRun> {
  await engine.reset(spec);
  for (const session of spec.sessions) {
    for (const step of session.steps.filter((s) => s.free)) {
      await engine.send(session.name, { name: step.name, sql: step.sql });
    }
  }
  const stalls: StallRecord[] = [];
  for (const entry of permutation) {
    const found = findStep(spec, entry.step);
    if (!found) throw userError('RACE_SPEC_INVALID', `permutation names an unknown step ${entry.step}`);
    // A step for a session still waiting in its previous step is queued behind it, as the
    // isolation tester does; the other sessions' steps go on meanwhile.
    const busy = engine.session(found.session.name).inflight;
    if (busy && engine.inProgress(found.session.name)) {
      const stall = { session: found.session.name, step: busy.step.name, waitsFor: busy.blockedBy };
      if (!(await engine.awaitSession(found.session.name)) && !busy.result) stalls.push(stall);
      await engine.settle();
      await engine.awaitSession(found.session.name);
    }
    void engine.send(found.session.name, { name: entry.step, sql: found.step.sql, blockers: entry.blockers });
    await engine.settle();
  }
  for (;;) {
    // At the end every step is waited for, annotated or not, like the isolation tester does.
    await engine.settle({ ignoreAnnotations: true });
    const blocked = engine.blocked();
    if (blocked.length === 0) break;
    stalls.push(...blocked);
    await engine.cancel(blocked.map((b) => engine.session(b.session).pid));
  }
  const failed = new Set(engine.events.filter((e) => e.kind === 'error').map((e) => e.session));
  const committed = spec.sessions.map((s) => s.name).filter((n) => !failed.has(n));
  return finishSchedule(engine, spec, { decisions: [], committed, stalls, diverged: false });
}

async function finishSchedule(
  engine: ScheduleEngine,
  spec: RaceSpec,
  partial: Pick<ScheduleRun, 'decisions' | 'committed' | 'stalls' | 'diverged'>,
): Promise<ScheduleRun> {
  await engine.teardownSessions(spec);
  const invariantFailures: { name: string; sql: string; value: unknown }[] = [];
  for (const inv of spec.invariants) {
    const value = await engine.control(inv.sql).then(
      (r) => Object.values(r.rows[0] ?? {})[0],
      (error: unknown) => `error: ${String(error)}`,
    );
    if (value !== true) invariantFailures.push({ name: inv.name, sql: inv.sql, value });
  }
  const snapshot = await snapshotUserTables(engine);
  const events = [...engine.events];
  return { ...partial, events, invariantFailures, snapshot, unstableVictim: victimIsUnstable(events) };
}
