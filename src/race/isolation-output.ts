import { userError } from '../core/errors.js';
import { findStep } from './race-spec.js';
import type { Permutation, PermutationEntry, RaceSpec } from './race-spec.js';
import { ScheduleEngine } from './schedule-engine.js';
import type { EngineOptions } from './schedule-engine.js';
import type { StepResult } from './step-result.js';

/**
 * Comparison mode (`hindsight race --expected FILE.out`): runs a spec's permutations exactly as
 * listed and writes what PostgreSQL's isolation tester writes for them, so that its output can
 * be diffed against an expected file the way pg_regress does.
 */
export async function isolationTesterOutput(
  spec: RaceSpec,
  options: EngineOptions & { readonly url: string },
): Promise<string> {
  const permutations = spec.permutations.length > 0 ? spec.permutations : everyInterleaving(spec);
  const engine = await ScheduleEngine.open(
    options.url,
    spec.sessions.map((s) => s.name),
    {
      // As pg_regress and the tester name them: specs may look their sessions up by it.
      applicationName: (session) => `isolation/${spec.name.replace(/\.spec$/, '')}/${session}`,
      // A statement that runs (not blocked) is waited for as long as the tester waits for it.
      stepTimeoutMs: TESTER_STEP_WAIT_MS,
      serverDeadlockTimeout: true,
      ...options,
    },
  );
  // The tester warns on stderr, which pg_regress captures ahead of the buffered stdout.
  const used = new Set(spec.permutations.flat().map((e) => e.step));
  const unused =
    spec.permutations.length > 0
      ? spec.sessions
          .flatMap((s) => s.steps.map((step) => step.name))
          .filter((name) => !used.has(name))
          .sort()
          .map((name) => `unused step name: ${name}`)
      : [];
  const out: string[] = [...unused, `Parsed test spec with ${spec.sessions.length} sessions`];
  try {
    for (const permutation of permutations) out.push(...(await runOne(engine, spec, permutation)));
  } finally {
    await engine.close();
  }
  return `${out.join('\n')}\n`;
}

/** How often isolationtester looks at a waiting step (its select() timeout). */
const TESTER_POLL_MS = 10;

/** isolationtester's max_step_wait (PGISOLATIONTIMEOUT, 300 s by default). */
const TESTER_STEP_WAIT_MS = 300_000;

/** More interleavings than this is no test one would diff (the tester would run them all). */
const MAX_INTERLEAVINGS = 5000;

/**
 * A `.spec` without permutation lines: every interleaving of the sessions' steps (each session's
 * in order), in the tester's order — the first session's next step first, recursively.
 */
export function everyInterleaving(spec: RaceSpec): Permutation[] {
  if (spec.format !== 'isolation') {
    throw userError(
      'RACE_NO_PERMUTATIONS',
      `${spec.name} lists no permutations: --expected compares the isolation tester's output of a .spec (or a spec with permutations); drop --expected to explore`,
    );
  }
  const piles = spec.sessions.map((s) => s.steps.map((step) => step.name));
  const total = piles.reduce((n, p) => n + p.length, 0);
  let count = 1;
  let placed = 0;
  // Multinomial coefficient: how many interleavings there are, before making them.
  for (const pile of piles) {
    for (let k = 1; k <= pile.length; k++) count = (count * (placed + k)) / k;
    placed += pile.length;
    if (count > MAX_INTERLEAVINGS) {
      throw userError(
        'RACE_NO_PERMUTATIONS',
        `${spec.name} has no permutation lines and its ${total} steps interleave in more than ${MAX_INTERLEAVINGS} ways; list the permutations to compare (permutation s1a s2a …)`,
      );
    }
  }
  const result: Permutation[] = [];
  const next = piles.map(() => 0);
  const walk = (prefix: string[]): void => {
    let found = false;
    for (const [i, pile] of piles.entries()) {
      const n = next[i] ?? 0;
      const step = pile[n];
      if (step === undefined) continue;
      found = true;
      next[i] = n + 1;
      walk([...prefix, step]);
      next[i] = n;
    }
    if (!found) result.push(prefix.map((step) => ({ step, blockers: [] })));
  };
  walk([]);
  return result;
}

interface Launched {
  readonly entry: PermutationEntry;
  readonly session: string;
  /** The SQL as the tester prints it. */
  readonly shown: string;
  /** Per `(step notices N)`: the notice count (printed so far) that session must reach. */
  readonly noticeTargets: readonly { readonly session: string; readonly count: number }[];
}

/**
 * One permutation, printed the way isolationtester.c prints it. The engine settles the world
 * after each step (every statement finished or blocked), which stands for the tester's polling;
 * on top of it this keeps the tester's own view: a step is active in its session until the
 * tester has printed it complete (annotations name steps in that sense), and a session's
 * notices are printed when the tester would read its connection — before the step line of a
 * step that runs, before the `<... completed>` of one that waited.
 */
class PermutationRun {
  readonly lines: string[] = [];
  /** The step of each session that has not been printed complete. */
  readonly #active = new Map<string, Launched>();
  /** Steps printed `<waiting ...>`, in the tester's array order. */
  readonly #waiting: Launched[] = [];
  readonly #printedNotices = new Map<string, number>();
  /** Notices printed in this permutation (a new one may free a step held by `notices N`). */
  #noticeCount = 0;

  readonly engine: ScheduleEngine;
  readonly spec: RaceSpec;

  constructor(engine: ScheduleEngine, spec: RaceSpec) {
    this.engine = engine;
    this.spec = spec;
  }

  async run(permutation: Permutation): Promise<void> {
    const { engine, spec, lines } = this;
    lines.push('', `starting permutation: ${permutation.map((e) => e.step).join(' ')}`);
    await engine.reset(
      spec,
      (session, result) => {
        // The control connection's notices are hidden, a session's printed (the tester's processors).
        if (session !== null) this.#consume(session);
        if (result.fields) lines.push(...formatTable(result.fields, textRows(result.rows)));
      },
      // The tester keeps its connections from one permutation to the next.
      { keepSessions: true },
    );
    for (const entry of permutation) {
      const found = findStep(spec, entry.step);
      if (!found) throw userError('RACE_SPEC_INVALID', `permutation names an unknown step ${entry.step}`);
      const session = found.session.name;
      // A session still busy with an earlier step: the tester waits for that step (polling the
      // others meanwhile) before it sends this one.
      const old = this.#active.get(session);
      if (old) await this.#finishQueued(old);
      const launched: Launched = {
        entry,
        session,
        shown: found.step.shown ?? found.step.sql,
        noticeTargets: entry.blockers.flatMap((b) => {
          if (b.kind !== 'notices') return [];
          const other = findStep(spec, b.step)?.session.name ?? session;
          return [{ session: other, count: this.#printed(other) + b.count }];
        }),
      };
      void engine.send(session, { name: entry.step, sql: found.step.sql, asText: true });
      this.#active.set(session, launched);
      const forced = entry.blockers.some((b) => b.kind === 'any');
      // `(*)`: the tester prints the step waiting without looking at it, and goes on.
      await engine.settle({ ignoreAnnotations: true, ...(forced ? { except: session } : {}) });
      const mustWait = this.#tryComplete(launched, false);
      this.#tryCompleteWaiting();
      if (mustWait) this.#waiting.push(launched);
    }
    // At the end the tester waits for every step, in its array order.
    await this.#completeRemaining();
    await engine.teardownSessions(spec, (session, result) => {
      this.#consume(session);
      if (result.fields) lines.push(...formatTable(result.fields, textRows(result.rows)));
    });
    await engine.teardown(spec, (result) => {
      if (result.fields) lines.push(...formatTable(result.fields, textRows(result.rows)));
    });
  }

  #printed(session: string): number {
    return this.#printedNotices.get(session) ?? 0;
  }

  /** The tester reads the session's connection: its notices are printed, prefixed with its name. */
  #consume(session: string): void {
    for (const text of this.engine.takeNotices(session)) {
      this.lines.push(`${session}: ${text}`);
      this.#printedNotices.set(session, this.#printed(session) + 1);
      this.#noticeCount++;
    }
  }

  /** step_has_blocker: `(other)` while other is active, `(other notices N)` until N more printed. */
  #held(l: Launched): boolean {
    if (l.noticeTargets.some((t) => this.#printed(t.session) < t.count)) return true;
    return l.entry.blockers.some((b) => {
      if (b.kind !== 'step') return false;
      const other = findStep(this.spec, b.step)?.session.name;
      return other !== undefined && this.#active.get(other)?.entry.step === b.step;
    });
  }

  /** try_complete_step: true while the step is not complete (blocked, running, or held). */
  #tryComplete(l: Launched, retry: boolean): boolean {
    const waitingLine = `step ${l.entry.step}: ${l.shown} <waiting ...>`;
    if (!retry && l.entry.blockers.some((b) => b.kind === 'any')) {
      this.lines.push(waitingLine);
      return true;
    }
    this.#consume(l.session);
    const result = this.engine.stepResult(l.session);
    // The tester looks at a step every 10 ms: one that waited for a lock (then, say, was the
    // deadlock victim after its deadlock_timeout) is seen waiting, however soon it ended.
    const sawWait = !retry && this.engine.wasBlocked(l.session);
    if (result === undefined || sawWait || this.#held(l)) {
      if (!retry) this.lines.push(waitingLine);
      return true;
    }
    this.lines.push(
      retry ? `step ${l.entry.step}: <... completed>` : `step ${l.entry.step}: ${l.shown}`,
      ...resultLines(result),
    );
    // Then the NOTIFY messages that reached this session, named by who sent them.
    for (const n of this.engine.takeNotifications(l.session)) {
      const sender = this.spec.sessions.find((s) => this.engine.session(s.name).pid === n.processId);
      this.lines.push(
        `${l.session}: NOTIFY "${n.channel}" with payload "${n.payload}" from ${sender ? sender.name : `PID ${String(n.processId)}`}`,
      );
    }
    this.#active.delete(l.session);
    return false;
  }

  /** try_complete_steps: each waiting step in order, again while one held by an annotation may
   *  have been freed by a later one (a completion or a notice). */
  #tryCompleteWaiting(): void {
    for (;;) {
      const notices = this.#noticeCount;
      const before = this.#waiting.length;
      let held = false;
      for (let w = 0; w < this.#waiting.length;) {
        const l = this.#waiting[w];
        if (l === undefined) break;
        if (this.#tryComplete(l, true)) {
          if (l.entry.blockers.length > 0) held = true;
          w++;
        } else this.#waiting.splice(w, 1);
      }
      if (!(held && (this.#waiting.length < before || this.#noticeCount > notices))) return;
    }
  }

  /** The tester's wait for a session's earlier step before sending it the next one. */
  async #finishQueued(old: Launched): Promise<void> {
    const { engine } = this;
    for (let round = 0; this.#active.get(old.session) === old; round++) {
      await this.#awaitResult(old.session);
      await engine.settle({ ignoreAnnotations: true });
      // The step just ended may have been a deadlock victim whose abort wakes others: the tester
      // gives each waiting step its 10 ms poll, so a wakeup that soon is seen; settle once more.
      await new Promise((resolve) => setTimeout(resolve, TESTER_POLL_MS));
      await engine.settle({ ignoreAnnotations: true });
      if (!this.#tryComplete(old, true)) this.#waiting.splice(this.#waiting.indexOf(old), 1);
      this.#tryCompleteWaiting();
      // Held by an annotation nothing will release: the tester gives up (after 2 × its wait).
      if (this.#active.get(old.session) === old && round > 0 && !this.#anyRunning()) {
        throw userError(
          'RACE_STEP_STUCK',
          `step ${old.entry.step} stays held by its annotation while its session has a next step; check the permutation's annotations`,
        );
      }
    }
  }

  async #completeRemaining(): Promise<void> {
    for (let round = 0; this.#waiting.length > 0; round++) {
      const before = this.#waiting.length;
      for (const l of [...this.#waiting]) await this.#awaitResult(l.session);
      await this.engine.settle({ ignoreAnnotations: true });
      this.#tryCompleteWaiting();
      if (this.#waiting.length === before && !this.#anyRunning()) {
        // What the tester says before it exits: nothing can complete any more.
        throw userError(
          'RACE_STEP_STUCK',
          `failed to complete permutation due to mutually-blocking steps (${this.#waiting.map((l) => l.entry.step).join(', ')})`,
        );
      }
    }
  }

  #anyRunning(): boolean {
    return this.spec.sessions.some((s) => this.engine.inProgress(s.name) && !this.engine.stepResult(s.name));
  }

  /** Waits for the server's answer to the session's step; past the step timeout race cancels it. */
  async #awaitResult(session: string): Promise<void> {
    if (this.engine.stepResult(session) !== undefined) return;
    await this.engine.awaitSession(session, { ignoreAnnotations: true });
    // A cancel race sent is answered shortly.
    if (this.engine.stepResult(session) === undefined)
      await this.engine.awaitSession(session, { ignoreAnnotations: true });
  }
}

async function runOne(engine: ScheduleEngine, spec: RaceSpec, permutation: Permutation): Promise<string[]> {
  const run = new PermutationRun(engine, spec);
  await run.run(permutation);
  return run.lines;
}

function textRows(rows: readonly (readonly (string | null)[])[]): string[][] {
  return rows.map((row) => row.map((v) => v ?? ''));
}

/** libpq's message for a connection the server closed, as the tester prints it (then a blank line). */
const CONNECTION_CLOSED = [
  'server closed the connection unexpectedly',
  '\tThis probably means the server terminated abnormally',
  '\tbefore or while processing the request.',
  '',
];

/** A step's result as the tester prints it: an error line, or rows as an aligned table. */
export function resultLines(result: StepResult): string[] {
  const tables = (result.results ?? []).flatMap((r) => formatTable(r.fields, textRows(r.rows)));
  if (result.ok) return tables;
  const error = `${result.severity ?? 'ERROR'}:  ${result.message ?? ''}`;
  // After a FATAL the server closes the connection, and libpq adds a result of its own.
  return result.severity === 'FATAL' ? [...tables, error, ...CONNECTION_CLOSED] : [...tables, error];
}

/**
 * libpq's PQprint with header, align and `|` (the tester's printResultSet). A column is numeric
 * — right-aligned, header too — unless a non-empty value has a character other than digits,
 * `.`, `E`, `e`, space and `-`, starts with E/e or does not end with a digit. Widths count
 * bytes, as printf does. Then the row count and a blank line.
 */
export function formatTable(fields: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const bytes = (v: string): number => Buffer.byteLength(v);
  const widths = fields.map((f, i) => Math.max(bytes(f), ...rows.map((r) => bytes(r[i] ?? ''))));
  const numeric = fields.map((_, i) =>
    rows.every((r) => {
      const v = r[i] ?? '';
      return v === '' || (/^[0-9.Ee -]+$/.test(v) && !/^[Ee]/.test(v) && /[0-9]$/.test(v));
    }),
  );
  const pad = (v: string, i: number): string => {
    const fill = ' '.repeat(Math.max(0, (widths[i] ?? 0) - bytes(v)));
    return numeric[i] ? fill + v : v + fill;
  };
  return [
    fields.map(pad).join('|'),
    widths.map((w) => '-'.repeat(w)).join('+'),
    ...rows.map((r) => r.map(pad).join('|')),
    `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`,
    '',
  ];
}

/** A unified diff of two texts (expected first), empty when they are identical. */
export function unifiedDiff(expected: string, actual: string, names: readonly [string, string]): string {
  if (expected === actual) return '';
  const a = expected.split('\n');
  const b = actual.split('\n');
  // Longest common subsequence lengths from the end, flat (outputs are a few hundred lines).
  const w = b.length + 1;
  const lcs = new Int32Array((a.length + 1) * w);
  const at = (i: number, j: number): number => lcs[i * w + j] ?? 0;
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i * w + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
  type Op = { readonly kind: ' ' | '-' | '+'; readonly text: string };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', text: a[i] ?? '' });
      i++;
      j++;
    } else if (i < a.length && (j >= b.length || at(i + 1, j) >= at(i, j + 1))) {
      ops.push({ kind: '-', text: a[i] ?? '' });
      i++;
    } else {
      ops.push({ kind: '+', text: b[j] ?? '' });
      j++;
    }
  }
  const out = [`--- ${names[0]}`, `+++ ${names[1]}`];
  const context = 3;
  const changed = (k: number): boolean => ops[k]?.kind !== ' ';
  const side = (list: readonly Op[], excluded: '-' | '+'): number =>
    list.filter((o) => o.kind !== excluded).length;
  let k = 0;
  while (k < ops.length) {
    if (!changed(k)) {
      k++;
      continue;
    }
    const start = Math.max(0, k - context);
    let last = k;
    // One hunk while changes are within 2 × context lines of each other.
    for (let m = k; m < ops.length && m - last <= 2 * context; m++) if (changed(m)) last = m;
    const end = Math.min(ops.length, last + context + 1);
    const hunk = ops.slice(start, end);
    const before = ops.slice(0, start);
    out.push(
      `@@ -${side(before, '+') + 1},${side(hunk, '+')} +${side(before, '-') + 1},${side(hunk, '-')} @@`,
      ...hunk.map((o) => `${o.kind}${o.text}`),
    );
    k = end;
  }
  return `${out.join('\n')}\n`;
}
