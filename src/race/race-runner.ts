import { userError } from '../core/errors.js';
import { findingsOf } from './race-finding.js';
import type { RaceFinding } from './race-finding.js';
import { outcomeOf } from './race-spec.js';
import type { OutcomeKind, RaceSpec } from './race-spec.js';
import { ScheduleEngine } from './schedule-engine.js';
import type { EngineOptions } from './schedule-engine.js';
import {
  choiceKey,
  contextSwitches,
  exploreExhaustive,
  pctChooser,
  prefixChooser,
} from './schedule-explorer.js';
import { runPermutation, runProgramSchedule, specPrograms } from './schedule-runner.js';
import type { Choice, Chooser, ScheduleRun, SessionProgram } from './schedule-runner.js';
import { SerialOracle, serialOrderOf } from './serial-oracle.js';
import { shrinkFinding } from './schedule-shrinker.js';
import { brokenSpecError, serialChooser, serialOrders } from './serial-preflight.js';

export interface RaceOptions extends EngineOptions {
  /** A database the race tester may wipe (schemas are dropped between schedules). */
  readonly url: string;
  /** Session code for the TypeScript API; the spec's steps otherwise. */
  readonly programs?: ReadonlyMap<string, SessionProgram>;
  readonly maxSchedules?: number;
  readonly seed?: number;
  /** Replays exactly this schedule (session names, `a+b` for an overlap). */
  readonly schedule?: readonly Choice[];
  /** Stop exploring at the first finding (it is still shrunk). */
  readonly stopAtFirst?: boolean;
  readonly shrink?: boolean;
  /** Overlap releases are retried this many times: a race inside one statement is not certain. */
  readonly overlapRepeats?: number;
}

export interface RaceResult {
  readonly spec: string;
  readonly strategy: string;
  readonly schedules: number;
  readonly complete: boolean;
  readonly seed: number;
  readonly findings: readonly ShrunkFinding[];
  readonly oracle: string;
  readonly durationMs: number;
  /** How often each failed-statement outcome was seen over all schedules (allowed ones too). */
  readonly outcomes: Readonly<Partial<Record<OutcomeKind, number>>>;
  /** Steps race itself cancelled after its step timeout (neither finished nor blocked by
   *  another session): the run is inconclusive there, which is race's problem, not a finding. */
  readonly raceCancels: readonly { readonly session: string; readonly step: string }[];
  /** Every schedule run, in order (`a b a+b …`). */
  readonly explored: readonly string[];
}

export interface ShrunkFinding {
  readonly finding: RaceFinding;
  /** The schedule that reproduces it, shrunk: fewest steps, then fewest context switches. */
  readonly schedule: readonly Choice[];
  /** The spec after removing steps that were not needed to reproduce it. */
  readonly spec: RaceSpec;
  readonly removedSteps: readonly string[];
  /** The schedule it was first found with, on the spec as written (for `--schedule`). */
  readonly originalSchedule: readonly Choice[];
}

/** Runs a race test: fixed permutations when the spec has them, else exploration; findings shrunk. */
export async function runRace(spec: RaceSpec, options: RaceOptions): Promise<RaceResult> {
  const started = performance.now();
  const seed = options.seed ?? 1;
  if (options.schedule) checkScheduleSessions(spec, options.schedule);
  const engine = await ScheduleEngine.open(
    options.url,
    spec.sessions.map((s) => s.name),
    options,
  );
  try {
    const tester = new SpecTester(engine, spec, options);
    const findings = new Map<string, { finding: RaceFinding; schedule: Choice[] }>();
    let schedules = 0;
    let complete = true;
    let strategy: string;
    const outcomes: Partial<Record<OutcomeKind, number>> = {};
    const explored: string[] = [];
    const raceCancels = new Map<string, { session: string; step: string }>();
    await tester.preflight();
    const consider = async (run: ScheduleRun): Promise<boolean> => {
      schedules++;
      explored.push(describeSchedule(run.decisions.map((d) => d.choice)));
      for (const e of run.events) {
        if (
          e.kind === 'error' &&
          e.cancelledByRace &&
          !run.stalls.some((s) => s.session === e.session && s.step === e.step)
        ) {
          raceCancels.set(`${e.session}\u0000${e.step}`, { session: e.session, step: e.step });
        }
        if (e.kind === 'error' && e.code && !e.cancelledByRace) {
          const kind = outcomeOf(e.code, e.message);
          outcomes[kind] = (outcomes[kind] ?? 0) + 1;
        }
      }
      for (const f of await tester.findings(run)) {
        if (!findings.has(f.signature))
          findings.set(f.signature, { finding: f, schedule: run.decisions.map((d) => d.choice) });
      }
      return options.stopAtFirst === true && findings.size > 0;
    };
    if (options.schedule) {
      strategy = 'replay';
      const run = await tester.run(prefixChooser(options.schedule));
      checkScheduleFollowed(options.schedule, run);
      await consider(run);
    } else if (spec.permutations.length > 0 && !options.programs) {
      strategy = `${spec.permutations.length} permutation(s) from the spec`;
      for (const p of spec.permutations) if (await consider(await runPermutation(engine, spec, p))) break;
    } else {
      const max = options.maxSchedules ?? 300;
      const gen = exploreExhaustive((c) => tester.run(c), { maxSchedules: max, overlap: spec.overlap });
      strategy = 'exhaustive';
      let stopped = false;
      for (;;) {
        const next = await gen.next();
        if (next.done) {
          complete = next.value.complete;
          break;
        }
        if (await consider(next.value)) {
          stopped = true;
          break;
        }
        // Too big for exhaustive search: switch to bounded context switches, then random.
        if (schedules === 1 && estimate(next.value) > max) {
          complete = false;
          break;
        }
      }
      if (!complete && !stopped) {
        strategy = 'bounded (≤ 2 preemptive switches) + seeded random (PCT)';
        const bounded = exploreExhaustive((c) => tester.run(c), {
          maxSchedules: Math.floor(max / 2),
          contextBound: 2,
          overlap: spec.overlap,
        });
        for await (const run of bounded) if (await consider(run)) break;
        const steps = Math.max(1, estimateSteps(spec));
        for (let i = 0; schedules < max && !(options.stopAtFirst && findings.size > 0); i++) {
          await consider(
            await tester.run(
              pctChooser(
                spec.sessions.map((s) => s.name),
                seed + i,
                steps,
              ),
            ),
          );
        }
      }
    }
    if (spec.overlap && !options.schedule) await tester.retryOverlaps(findings, consider);
    // An error that a serial schedule also gives is the code's normal behaviour, not a race.
    for (const signature of findings.keys())
      if (tester.happensSerially(signature)) findings.delete(signature);
    const shrunk: ShrunkFinding[] = [];
    for (const { finding, schedule } of findings.values()) {
      shrunk.push(
        options.shrink === false || finding.run.decisions.length === 0
          ? { finding, schedule, spec, removedSteps: [], originalSchedule: schedule }
          : await shrinkFinding(spec, finding, schedule, (s, c) =>
              new SpecTester(engine, s, { ...options, oracle: finding.kind === 'anomaly' }).runAndFind(c),
            ),
      );
    }
    return {
      spec: spec.name,
      strategy,
      schedules,
      complete,
      seed,
      findings: shrunk,
      oracle: tester.oracleNote(),
      outcomes,
      explored,
      raceCancels: [...raceCancels.values()],
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await engine.close();
  }
}

/** Failures that a serial schedule can give too: there they are the code's logic, not a race. */
const SERIAL_EXPLAINABLE: ReadonlySet<OutcomeKind> = new Set([
  'error',
  'unique_violation',
  'lock_timeout',
  'lock_not_available',
  'query_canceled',
]);

/** Runs schedules of one spec on one engine and judges them. */
export class SpecTester {
  readonly #engine: ScheduleEngine;
  readonly #spec: RaceSpec;
  readonly #programs: ReadonlyMap<string, SessionProgram>;
  readonly #oracle: SerialOracle;
  readonly #overlapRepeats: number;
  readonly #overlapTried: Choice[][] = [];
  readonly #useOracle: boolean;

  constructor(
    engine: ScheduleEngine,
    spec: RaceSpec,
    options: Pick<RaceOptions, 'programs' | 'overlapRepeats'> & { readonly oracle?: boolean },
  ) {
    this.#useOracle = options.oracle ?? true;
    this.#engine = engine;
    this.#spec = spec;
    this.#programs = options.programs ?? specPrograms(spec);
    this.#overlapRepeats = options.overlapRepeats ?? 50;
    this.#oracle = new SerialOracle(spec, this.#programs, (programs, chooser) =>
      runProgramSchedule(engine, spec, programs, chooser),
    );
  }

  /** Stops with a user error when a step fails even with no interleaving (a broken spec). */
  async preflight(): Promise<void> {
    // API sessions are the application's code: an error it catches may be its intended path.
    if (this.#spec.format === 'api') return;
    const runs: { order: readonly string[]; run: ScheduleRun }[] = [];
    for (const order of serialOrders([...this.#programs.keys()]))
      runs.push({ order, run: await this.run(serialChooser(order)) });
    const broken = brokenSpecError(this.#spec.name, runs);
    if (broken) throw broken;
  }

  async run(chooser: Chooser): Promise<ScheduleRun> {
    let run = await runProgramSchedule(this.#engine, this.#spec, this.#programs, chooser);
    for (let retry = 0; run.unstableVictim && !this.#engine.customDeadlockTimeouts && retry < 5; retry++) {
      this.#engine.slowDown();
      run = await runProgramSchedule(
        this.#engine,
        this.#spec,
        this.#programs,
        prefixChooser(run.decisions.map((d) => d.choice)),
      );
    }
    if (run.decisions.some((d) => d.choice.length > 1))
      this.#overlapTried.push(run.decisions.map((d) => d.choice));
    return run;
  }

  readonly #serialSignatures = new Set<string>();

  async findings(run: ScheduleRun): Promise<RaceFinding[]> {
    const verdict = this.#useOracle && run.decisions.length > 0 ? await this.#oracle.check(run) : undefined;
    const found = findingsOf(this.#spec, run, verdict, {
      pids: new Map(this.#engine.sessions.map((s) => [s.pid, s.name] as const)),
      relations: await this.#relationNames(run),
    });
    if (run.decisions.length > 0 && serialOrderOf(run)) {
      const logical = found.filter((f) => SERIAL_EXPLAINABLE.has(f.kind));
      for (const f of logical) this.#serialSignatures.add(f.signature);
      return found.filter((f) => !SERIAL_EXPLAINABLE.has(f.kind));
    }
    return found.filter((f) => !this.#serialSignatures.has(f.signature));
  }

  /** Names of the relations a deadlock report mentions by OID (the tables still exist: the
   *  schema is reset only before the next schedule). */
  async #relationNames(run: ScheduleRun): Promise<Map<number, string>> {
    const oids = [
      ...new Set(
        run.events.flatMap((e) =>
          [...(e.detail ?? '').matchAll(/relation (\d+) of database/g)].map((m) => Number(m[1])),
        ),
      ),
    ];
    if (oids.length === 0) return new Map();
    const rows = await this.#engine
      .control<{ oid: number; name: string }>(
        'SELECT oid::int AS oid, oid::regclass::text AS name FROM pg_class WHERE oid = ANY ($1::oid[])',
        [oids],
      )
      .then(
        (r) => r.rows,
        () => [],
      );
    return new Map(rows.map((r) => [r.oid, r.name] as const));
  }

  /** Whether a finding's outcome was also seen in a serial schedule (so it is not a race). */
  happensSerially(signature: string): boolean {
    return this.#serialSignatures.has(signature);
  }

  async runAndFind(chooser: Chooser): Promise<{ run: ScheduleRun; findings: RaceFinding[] }> {
    const run = await this.run(chooser);
    return { run, findings: await this.findings(run) };
  }

  oracleNote(): string {
    const reason = this.#oracle.applicable();
    return reason ? `serial-equivalence oracle skipped: ${reason}` : 'serial-equivalence oracle on';
  }

  /** Statements released at the same instant race inside the server: repeat those schedules. */
  async retryOverlaps(
    findings: Map<string, { finding: RaceFinding; schedule: Choice[] }>,
    consider: (run: ScheduleRun) => Promise<boolean>,
  ): Promise<void> {
    let budget = 200;
    for (const schedule of this.#overlapTried.slice(0, 10)) {
      for (let i = 1; i < this.#overlapRepeats && budget-- > 0; i++) {
        const before = findings.size;
        if (await consider(await this.run(prefixChooser(schedule)))) return;
        if (findings.size > before) break;
      }
    }
  }
}

function estimate(run: ScheduleRun): number {
  const perSession = new Map<string, number>();
  for (const d of run.decisions) for (const s of d.choice) perSession.set(s, (perSession.get(s) ?? 0) + 1);
  let total = 0;
  let result = 1;
  for (const n of perSession.values()) {
    for (let i = 1; i <= n; i++) {
      total++;
      result = (result * total) / i;
    }
  }
  return result;
}

function estimateSteps(spec: RaceSpec): number {
  return spec.sessions.reduce((n, s) => n + s.steps.filter((x) => !x.free).length, 0);
}

export function describeSchedule(schedule: readonly Choice[]): string {
  return schedule.map(choiceKey).join(' ');
}

function checkScheduleSessions(spec: RaceSpec, schedule: readonly Choice[]): void {
  const names = spec.sessions.map((s) => s.name);
  const unknown = schedule.flat().find((s) => !names.includes(s));
  if (unknown !== undefined) {
    throw userError(
      'RACE_BAD_SCHEDULE',
      `--schedule names ${unknown}, which is not a session of ${spec.name}; its sessions are ${names.join(', ')}`,
    );
  }
}

/** A replayed schedule must be followed as given and run every step, or it proves nothing. */
function checkScheduleFollowed(schedule: readonly Choice[], run: ScheduleRun): void {
  const ran = run.decisions.map((d) => d.choice);
  const full = describeSchedule(ran);
  for (const [i, wanted] of schedule.entries()) {
    const decision = run.decisions[i];
    if (!decision) {
      throw userError(
        'RACE_BAD_SCHEDULE',
        `--schedule "${describeSchedule(schedule)}" has ${schedule.length} choices but every step had run after ${ran.length}: e.g. --schedule "${full}"`,
      );
    }
    if (choiceKey(decision.choice) !== choiceKey(wanted)) {
      throw userError(
        'RACE_BAD_SCHEDULE',
        `--schedule choice ${i + 1} is ${choiceKey(wanted)}, but only ${decision.movable.join(', ')} could move there; a schedule that runs: --schedule "${full}"`,
      );
    }
  }
  if (ran.length > schedule.length) {
    throw userError(
      'RACE_BAD_SCHEDULE',
      `--schedule "${describeSchedule(schedule)}" stops after ${schedule.length} of ${ran.length} choices; give one for every step, e.g. --schedule "${full}"`,
    );
  }
}

export function parseSchedule(text: string): Choice[] {
  const choices = text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((c) => c.split('+'));
  if (choices.length === 0)
    throw userError(
      'RACE_BAD_SCHEDULE',
      'the schedule is empty; give session names separated by spaces, e.g. "a b a b"',
    );
  return choices;
}

export { contextSwitches };
