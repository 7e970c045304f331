import { parse } from 'yaml';
import { z } from 'zod';
import { userError } from '../core/errors.js';
import { DEFAULT_ALLOW, OUTCOME_KINDS } from './race-spec.js';
import type { Blocker, OutcomeKind, Permutation, RaceSpec, SessionSpec, StepSpec } from './race-spec.js';

const sqlList = z.union([z.string(), z.array(z.string())]).optional();
const stepSchema = z.union([z.string(), z.object({ name: z.string().min(1), sql: z.string().min(1) })]);
const isolationSchema = z.enum(['read committed', 'repeatable read', 'serializable', 'read uncommitted']);
const sessionSchema = z.object({
  isolation: isolationSchema.optional(),
  /** false: every step runs in autocommit (no implicit BEGIN … COMMIT around the steps). */
  transaction: z.boolean().optional(),
  setup: sqlList,
  teardown: sqlList,
  steps: z.array(stepSchema).min(1),
});
const specSchema = z.object({
  name: z.string().optional(),
  setup: sqlList,
  teardown: sqlList,
  sessions: z.record(z.string(), sessionSchema),
  permutations: z.array(z.array(z.string())).optional(),
  invariants: z
    .array(z.union([z.string(), z.object({ name: z.string().optional(), sql: z.string() })]))
    .optional(),
  expect: z.array(z.enum(OUTCOME_KINDS as [OutcomeKind, ...OutcomeKind[]])).optional(),
  overlap: z.boolean().optional(),
});

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : typeof value === 'string' ? [value] : value;

/**
 * The YAML spec format. Each session runs its steps in one transaction (`BEGIN ISOLATION LEVEL …`
 * released with its first step, `COMMIT` as a last step of its own) unless `transaction: false`.
 * Steps are named `<session>.<n>` (1-based) unless given a name. Permutations list step names.
 */
export function parseYamlSpec(text: string, name = 'spec'): RaceSpec {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (cause) {
    throw userError(
      'RACE_SPEC_SYNTAX',
      `${name}: not valid YAML (${String(cause)}); fix the file and run again`,
      cause,
    );
  }
  const result = specSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues
      .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
      .join('; ');
    throw userError('RACE_SPEC_INVALID', `${name}: ${problems}`);
  }
  const doc = result.data;
  const sessions: SessionSpec[] = Object.entries(doc.sessions).map(([sessionName, s]) => {
    const steps: StepSpec[] = s.steps.map((step, index) =>
      typeof step === 'string' ? { name: `${sessionName}.${index + 1}`, sql: step } : step,
    );
    const wrapped = s.transaction ?? true;
    const begin = `BEGIN ISOLATION LEVEL ${(s.isolation ?? 'read committed').toUpperCase()}`;
    return {
      name: sessionName,
      setup: list(s.setup),
      teardown: list(s.teardown),
      steps: wrapped
        ? [
            { name: `${sessionName}.begin`, sql: begin, free: true },
            ...steps,
            { name: `${sessionName}.commit`, sql: 'COMMIT' },
          ]
        : steps,
    };
  });
  if (sessions.length === 0)
    throw userError('RACE_SPEC_INVALID', `${name}: sessions: give at least one session`);
  const stepNames = new Set(sessions.flatMap((s) => s.steps.map((step) => step.name)));
  const permutations: Permutation[] = (doc.permutations ?? []).map((p) =>
    p.map((stepName) => {
      if (!stepNames.has(stepName)) {
        throw userError(
          'RACE_SPEC_INVALID',
          `${name}: permutation names an unknown step ${stepName} (known: ${[...stepNames].join(', ')})`,
        );
      }
      return { step: stepName, blockers: [] as Blocker[] };
    }),
  );
  return {
    name: doc.name ?? name,
    format: 'yaml',
    setup: list(doc.setup),
    teardown: list(doc.teardown),
    sessions,
    permutations,
    invariants: (doc.invariants ?? []).map((inv, i) =>
      typeof inv === 'string'
        ? { name: `invariant ${i + 1}`, sql: inv }
        : { name: inv.name ?? `invariant ${i + 1}`, sql: inv.sql },
    ),
    allow: doc.expect ?? DEFAULT_ALLOW,
    overlap: doc.overlap ?? false,
  };
}
