import { userError } from '../core/errors.js';
import { findStep } from './race-spec.js';
import type { Permutation, RaceSpec } from './race-spec.js';
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
    options,
  );
  const out: string[] = [`Parsed test spec with ${spec.sessions.length} sessions`];
  try {
    for (const permutation of permutations) out.push(...(await runOne(engine, spec, permutation)));
  } finally {
    await engine.close();
  }
  return `${out.join('\n')}\n`;
}

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
  readonly step: string;
  readonly session: string;
  result: StepResult | undefined;
}

async function runOne(engine: ScheduleEngine, spec: RaceSpec, permutation: Permutation): Promise<string[]> {
  const lines = ['', `starting permutation: ${permutation.map((e) => e.step).join(' ')}`];
  await engine.reset(spec);
  const waiting: Launched[] = [];
  const complete = (l: Launched): boolean => l.result !== undefined && !engine.inProgress(l.session);
  // Waiting steps are reported in the order they complete, each once, as the tester does.
  const reportCompleted = (): void => {
    for (const l of [...waiting]) {
      if (!complete(l) || !l.result) continue;
      lines.push(`step ${l.step}: <... completed>`, ...resultLines(l.result));
      waiting.splice(waiting.indexOf(l), 1);
    }
  };
  for (const entry of permutation) {
    const found = findStep(spec, entry.step);
    if (!found) throw userError('RACE_SPEC_INVALID', `permutation names an unknown step ${entry.step}`);
    const session = found.session.name;
    // A step for a session still busy is queued behind its blocked step, as in the tester.
    if (engine.inProgress(session)) {
      await engine.awaitSession(session);
      await engine.settle();
      reportCompleted();
    }
    const launched: Launched = { step: entry.step, session, result: undefined };
    void engine
      .send(session, { name: entry.step, sql: found.step.sql, blockers: entry.blockers, asText: true })
      .then((r) => {
        launched.result = r;
      });
    await engine.settle();
    if (complete(launched) && launched.result) {
      lines.push(`step ${entry.step}: ${found.step.sql}`, ...resultLines(launched.result));
    } else {
      lines.push(`step ${entry.step}: ${found.step.sql} <waiting ...>`);
      waiting.push(launched);
    }
    reportCompleted();
  }
  for (;;) {
    // At the end every step is waited for, annotated or not, like the tester does.
    await engine.settle({ ignoreAnnotations: true });
    reportCompleted();
    const blocked = engine.blocked();
    if (blocked.length === 0) break;
    await engine.cancel(blocked.map((b) => engine.session(b.session).pid));
  }
  await engine.settle({ ignoreAnnotations: true });
  for (const l of [...waiting]) {
    if (l.result) lines.push(`step ${l.step}: <... completed>`, ...resultLines(l.result));
  }
  await engine.teardownSessions(spec);
  return lines;
}

/** A step's result as the tester prints it: an error line, or rows as an aligned table. */
export function resultLines(result: StepResult): string[] {
  if (!result.ok) return [`${result.severity ?? 'ERROR'}:  ${result.message ?? ''}`];
  if (!result.fields || result.fields.length === 0) return [];
  return formatTable(
    result.fields,
    result.rows.map((row) => (row as unknown as readonly (string | null)[]).map((v) => v ?? '')),
  );
}

/** libpq's PQprint with header, align and `|` (the tester's printResultSet): numeric columns
 *  right-aligned, the rest left-aligned and padded, then the row count and a blank line. */
export function formatTable(fields: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = fields.map((f, i) => Math.max(f.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = fields.map((_, i) => rows.every((r) => /^[-+]?[0-9.eE+-]*$/.test(r[i] ?? '')));
  const lines = [
    fields.map((f, i) => f.padEnd(widths[i] ?? 0)).join('|'),
    widths.map((w) => '-'.repeat(w)).join('+'),
    ...rows.map((r) =>
      r.map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join('|'),
    ),
    `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`,
    '',
  ];
  return lines;
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
