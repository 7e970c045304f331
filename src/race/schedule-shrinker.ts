import type { RaceFinding } from './race-finding.js';
import type { ShrunkFinding } from './race-runner.js';
import type { RaceSpec, SessionSpec } from './race-spec.js';
import { contextSwitches, exploreExhaustive, prefixChooser } from './schedule-explorer.js';
import type { Choice, Chooser, ScheduleRun } from './schedule-runner.js';
import { serialOrderOf } from './serial-oracle.js';

export type TryRun = (
  spec: RaceSpec,
  chooser: Chooser,
) => Promise<{ run: ScheduleRun; findings: RaceFinding[] }>;

const TXN_CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|abort)\b/i;
const MAX_TRIES = 60;

/**
 * Shrinks a finding: first drops whole sessions, then single steps that are not needed to
 * reproduce it (replaying the same schedule without them), then looks for a schedule with the
 * fewest context switches that still reproduces it. Each try runs from a fresh state.
 */
export async function shrinkFinding(
  spec: RaceSpec,
  finding: RaceFinding,
  schedule: readonly Choice[],
  tryRun: TryRun,
): Promise<ShrunkFinding> {
  let tries = 0;
  // Shrinking must not turn a race into something that also happens one session at a time.
  const originalIsSerial = serialOrderOf(finding.run) !== undefined;
  let current = { spec, schedule, finding, run: finding.run };
  const removed: string[] = [];
  const attempt = async (candidate: RaceSpec, chooser: Chooser): Promise<boolean> => {
    if (tries >= MAX_TRIES) return false;
    tries++;
    const { run, findings } = await tryRun(candidate, chooser);
    const same = findings.find((f) => f.signature === finding.signature);
    if (!same || (serialOrderOf(run) && !originalIsSerial)) return false;
    current = { spec: candidate, schedule: run.decisions.map((d) => d.choice), finding: same, run };
    return true;
  };

  if (spec.format !== 'api' && spec.permutations.length === 0) {
    for (const session of spec.sessions) {
      if (current.spec.sessions.length <= 2) break;
      const candidate = {
        ...current.spec,
        sessions: current.spec.sessions.filter((s) => s.name !== session.name),
      };
      const without = current.schedule
        .map((c) => c.filter((s) => s !== session.name))
        .filter((c) => c.length > 0);
      if (await attempt(candidate, prefixChooser(without))) removed.push(`session ${session.name}`);
    }
    // A session in a deadlock cycle needs a step that takes a lock and a later one that waits.
    const inCycle = new Set((finding.cycle ?? []).map((e) => e.waiter));
    let progress = true;
    while (progress && tries < MAX_TRIES) {
      progress = false;
      for (const session of current.spec.sessions) {
        const removable = session.steps.filter((s) => !s.free && !TXN_CONTROL.test(s.sql));
        if (removable.length <= (inCycle.has(session.name) ? 2 : 1)) continue;
        for (const step of removable) {
          const candidate = withoutStep(current.spec, session, step.name);
          if (await attempt(candidate, prefixChooser(dropRelease(current.schedule, session, step.name)))) {
            removed.push(step.name);
            progress = true;
            break;
          }
        }
        if (progress) break;
      }
    }
  }

  const switches = contextSwitches(current.schedule, current.run.decisions);
  for (let bound = 0; bound < switches && tries < MAX_TRIES; bound++) {
    let last: RaceFinding[] = [];
    const candidateSpec = current.spec;
    const gen = exploreExhaustive(
      async (chooser) => {
        tries++;
        const r = await tryRun(candidateSpec, chooser);
        last = r.findings;
        return r.run;
      },
      { maxSchedules: Math.min(20, MAX_TRIES - tries), contextBound: bound, overlap: candidateSpec.overlap },
    );
    let found = false;
    for await (const run of gen) {
      const same = last.find((f) => f.signature === finding.signature);
      if (same && (originalIsSerial || !serialOrderOf(run))) {
        current = { spec: candidateSpec, schedule: run.decisions.map((d) => d.choice), finding: same, run };
        found = true;
        break;
      }
    }
    if (found) break;
  }
  return {
    finding: current.finding,
    schedule: current.schedule,
    spec: current.spec,
    removedSteps: removed,
    originalSchedule: schedule,
  };
}

function withoutStep(spec: RaceSpec, session: SessionSpec, step: string): RaceSpec {
  return {
    ...spec,
    sessions: spec.sessions.map((s) =>
      s.name === session.name ? { ...s, steps: s.steps.filter((x) => x.name !== step) } : s,
    ),
  };
}

/** The schedule without the choice that released `step` (the k-th release of its session). */
function dropRelease(schedule: readonly Choice[], session: SessionSpec, step: string): Choice[] {
  const k = session.steps.filter((s) => !s.free).findIndex((s) => s.name === step);
  let seen = -1;
  const out: Choice[] = [];
  for (const choice of schedule) {
    if (choice.includes(session.name)) {
      seen++;
      if (seen === k) {
        const rest = choice.filter((s) => s !== session.name);
        if (rest.length > 0) out.push(rest);
        continue;
      }
    }
    out.push(choice);
  }
  return out;
}
