import { describeSchedule } from './race-runner.js';
import { isLockUpgrade } from './race-finding.js';
import type { FinalState } from './race-finding.js';
import type { RaceResult, ShrunkFinding } from './race-runner.js';
import { choiceKey, contextSwitches } from './schedule-explorer.js';
import type { Choice } from './schedule-runner.js';
import type { TraceEvent } from './step-result.js';

const COLUMN = 46;

const oneLine = (sql: string, width: number): string => {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

/** A per-session timeline: one column per session, one row per event, waiting marked with ⏳. */
export function timeline(events: readonly TraceEvent[], sessions: readonly string[]): string[] {
  const shown = events.filter((e) => !/^\s*begin\b/i.test(e.sql) || e.kind === 'error');
  const header = `   #  ${sessions.map((s) => s.padEnd(COLUMN)).join('')}`.trimEnd();
  const waited = new Set<number>();
  const lines = [header];
  const label = (e: TraceEvent, width: number): string => oneLine(`${e.step}: ${e.sql}`, width);
  let row = 0;
  for (const e of shown) {
    const col = sessions.indexOf(e.session);
    let cell: string;
    if (e.kind === 'start') continue;
    if (e.kind === 'waits') {
      waited.add(shown.findLastIndex((x) => x.seq < e.seq && x.session === e.session && x.kind === 'start'));
      cell = `${label(e, COLUMN - 18)} ⏳ waits for ${(e.waitsFor ?? []).join(', ')}`;
    } else if (e.kind === 'done') {
      const afterWait = shown.some(
        (x) => x.kind === 'waits' && x.session === e.session && x.step === e.step && x.seq < e.seq,
      );
      cell = afterWait
        ? `↳ ${e.step} done after waiting`
        : `${label(e, COLUMN - 12)} ${e.command === 'ROLLBACK' && !/^\s*rollback/i.test(e.sql) ? '→ ROLLBACK' : 'ok'}`;
    } else {
      cell = `✗ ${e.code ?? ''} ${oneLine(e.message ?? '', COLUMN - 10)}`;
      if (
        !shown.some(
          (x) => x.kind === 'waits' && x.session === e.session && x.step === e.step && x.seq < e.seq,
        )
      ) {
        cell = `${e.step} ${cell}`;
      }
    }
    row++;
    const pad = ' '.repeat(Math.max(0, col) * COLUMN);
    lines.push(`${String(row).padStart(4)}  ${pad}${cell}`);
    if (e.callSite) lines.push(`      ${pad}  at ${e.callSite}`);
  }
  const steps = new Map(shown.filter((e) => e.kind === 'start').map((e) => [e.step, e.sql] as const));
  lines.push('', '  steps:');
  for (const [name, sql] of steps) lines.push(`    ${name}: ${oneLine(sql, 160)}`);
  return lines;
}

/** Times the schedule moves from one session to another (`b a a b b a`: 3). */
export function sessionSwitches(schedule: readonly Choice[]): number {
  let n = 0;
  for (let i = 1; i < schedule.length; i++)
    if (choiceKey(schedule[i] ?? []) !== choiceKey(schedule[i - 1] ?? [])) n++;
  return n;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** Rows only in the actual state (+) and only in a serial order's state (−), table by table. */
export function stateDiff(state: FinalState): string[] {
  const tables = (snapshot: string): Map<string, Set<string>> =>
    new Map(
      snapshot
        .split('\n\n')
        .filter(Boolean)
        .map((part) => {
          const [name = '', ...rows] = part.split('\n');
          return [name, new Set(rows.filter(Boolean))] as const;
        }),
    );
  const actual = tables(state.actual);
  const out = ['  final state against the serial expectation (− expected in that order, + actual):'];
  for (const { order, snapshot } of state.expected) {
    out.push(`    serially ${order.join(' then ')}:`);
    const expected = tables(snapshot);
    for (const name of new Set([...expected.keys(), ...actual.keys()])) {
      const want = expected.get(name) ?? new Set<string>();
      const got = actual.get(name) ?? new Set<string>();
      const lines = [
        ...[...want].filter((r) => !got.has(r)).map((r) => `      − ${r}`),
        ...[...got].filter((r) => !want.has(r)).map((r) => `      + ${r}`),
      ];
      if (lines.length > 0) out.push(`     ${name}`, ...lines);
    }
  }
  return out;
}

export function formatFinding(f: ShrunkFinding, index: number): string {
  const { finding } = f;
  const sessions = f.spec.sessions.map((s) => s.name);
  const steps = finding.run.events.filter((e) => e.kind === 'start' && !/^\s*begin\b/i.test(e.sql)).length;
  const switches = sessionSwitches(f.schedule);
  const preemptive = contextSwitches(f.schedule, finding.run.decisions);
  const shape =
    f.schedule.length === 0
      ? `${plural(steps, 'step', 'steps')}: (the spec permutation)`
      : `${plural(steps, 'step', 'steps')}, ${plural(switches, 'switch', 'switches')} between sessions (${preemptive} preemptive: a session that could still move was set aside): ${describeSchedule(f.schedule)}`;
  const out = [`✗ finding ${index + 1}: ${finding.title}`, `  minimal schedule: ${shape}`];
  if (f.removedSteps.length > 0)
    out.push(`  not needed to reproduce it (removed): ${f.removedSteps.join(', ')}`);
  out.push('', ...timeline(finding.run.events, sessions).map((l) => `  ${l}`), '');
  if (finding.cycle && finding.cycle.length > 0) {
    const ring = [...finding.cycle.map((e) => e.waiter), finding.cycle[0]?.waiter ?? ''].join(' → ');
    if (isLockUpgrade(finding.cycle)) {
      // Each holds a weaker lock on the same table and asks for a stronger one.
      out.push(`  wait-for cycle (lock upgrade on ${finding.cycle[0]?.relation ?? '?'}): ${ring}`);
      for (const e of finding.cycle) {
        out.push(
          `    ${e.waiter} holds a weaker lock on ${e.relation ?? '?'} and waits for ${e.mode ?? 'a stronger lock'} on it, which ${e.holder}'s lock on it blocks`,
        );
      }
    } else {
      out.push(`  wait-for cycle: ${ring}`);
      for (const e of finding.cycle) out.push(`    ${e.waiter} waits for ${e.lock} held by ${e.holder}`);
    }
    out.push(`  victim: ${finding.session ?? '?'} (the statement that closed the cycle)`);
  }
  if (finding.state) out.push(...stateDiff(finding.state), '');
  out.push(`  suggested fix: ${finding.fix}`);
  if (f.originalSchedule.length > 0)
    out.push(
      `  replay: --schedule "${describeSchedule(f.originalSchedule)}"${f.removedSteps.length > 0 ? ' (on the spec as written)' : ''}`,
    );
  return out.join('\n');
}

export function formatResult(result: RaceResult): string {
  const seen = Object.entries(result.outcomes)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  const head = `hindsight race: ${result.spec}: ${result.schedules} schedule(s), ${result.strategy}${result.complete ? '' : ' (not exhaustive)'}, seed ${result.seed}, ${result.durationMs} ms; ${result.oracle}${seen ? `; outcomes seen: ${seen}` : ''}`;
  const cancels = result.raceCancels.map(
    (c) =>
      `⚠ race gave up on step ${c.step} of ${c.session}: it neither finished nor waited for another session within the step timeout, so race cancelled it (race's limit, not a finding about the spec; that part of the run is inconclusive)`,
  );
  const top = [head, ...cancels].join('\n');
  if (result.findings.length === 0) return `${top}\n✓ no finding`;
  return [top, ...result.findings.map((f, i) => formatFinding(f, i))].join('\n\n');
}

export function resultToJson(result: RaceResult): unknown {
  return {
    spec: result.spec,
    strategy: result.strategy,
    schedules: result.schedules,
    complete: result.complete,
    seed: result.seed,
    durationMs: result.durationMs,
    oracle: result.oracle,
    outcomes: result.outcomes,
    raceCancels: result.raceCancels,
    findings: result.findings.map((f) => ({
      kind: f.finding.kind,
      title: f.finding.title,
      session: f.finding.session ?? null,
      step: f.finding.step ?? null,
      code: f.finding.code ?? null,
      schedule: describeSchedule(f.schedule),
      removedSteps: f.removedSteps,
      cycle: f.finding.cycle ?? [],
      ...(f.finding.state
        ? {
            finalState: {
              actual: f.finding.state.actual,
              expected: f.finding.state.expected.map((e) => ({ order: e.order, state: e.snapshot })),
            },
          }
        : {}),
      fix: f.finding.fix,
      timeline: f.finding.run.events,
    })),
  };
}

const xml = (s: string): string =>
  s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);

/** JUnit XML: one test case per spec, a failure per finding, for CI dashboards. */
export function resultsToJunit(results: readonly RaceResult[]): string {
  const failures = results.reduce((n, r) => n + (r.findings.length > 0 ? 1 : 0), 0);
  const cases = results.map((r) => {
    const body = r.findings
      .map(
        (f, i) =>
          `      <failure type="${f.finding.kind}" message="${xml(f.finding.title)}">${xml(formatFinding(f, i))}</failure>`,
      )
      .join('\n');
    return `    <testcase classname="hindsight.race" name="${xml(r.spec)}" time="${(r.durationMs / 1000).toFixed(3)}">${body ? `\n${body}\n    ` : ''}</testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="hindsight race" tests="${results.length}" failures="${failures}">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`;
}
