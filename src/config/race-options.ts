import { z } from 'zod';
import { issueLines, optionsError } from './option-problems.js';

/** `hindsight race` options after validation: every problem is reported before a server starts. */
export interface RaceOptions {
  readonly specs: readonly string[];
  readonly db: string | null;
  readonly seed: number | null;
  readonly maxSchedules: number | null;
  /** `--schedule` as given ("a b a+b"); the race engine reads it. */
  readonly schedule: string | null;
  readonly first: boolean;
  readonly shrink: boolean;
  readonly allow: readonly string[] | null;
  readonly overlap: boolean;
  readonly json: boolean;
  readonly junit: string | null;
  readonly fromLog: string | null;
  readonly out: string | null;
  /** Comparison mode: the isolation tester's expected output to diff the spec's output against. */
  readonly expected: string | null;
}

const whole = (flag: string, min: number) =>
  z.string().transform((text, ctx) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isSafeInteger(n) || n < min) {
      ctx.addIssue({
        code: 'custom',
        message: `${flag} takes a whole number${min > 0 ? ` of at least ${min}` : ''}, not "${text}"`,
      });
      return z.NEVER;
    }
    return n;
  });

const path = (flag: string) => z.string().min(1, `${flag} needs a file path`);

/** The flags as commander hands them over. `outcomeKinds`: what `--allow` accepts (the race engine's list). */
const schemaFor = (outcomeKinds: readonly string[]) =>
  z.object({
    db: z.string().min(1, '--db needs a postgres:// URL').optional(),
    seed: whole('--seed', 0).optional(),
    maxSchedules: whole('--max-schedules', 1).optional(),
    schedule: z
      .string()
      .refine(
        (s) => s.trim() !== '',
        '--schedule is empty; give session names separated by spaces, e.g. "a b a b"',
      )
      .optional(),
    first: z.boolean().default(false),
    shrink: z.boolean().default(true),
    allow: z
      .string()
      .transform((text, ctx) => {
        const kinds = text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const kind of kinds) {
          if (!outcomeKinds.includes(kind))
            ctx.addIssue({
              code: 'custom',
              message: `--allow: unknown outcome ${kind}; use ${outcomeKinds.join(', ')}`,
            });
        }
        return kinds;
      })
      .optional(),
    overlap: z.boolean().default(false),
    json: z.boolean().default(false),
    junit: path('--junit').optional(),
    fromLog: path('--from-log').optional(),
    out: path('--out').optional(),
    expected: path('--expected').optional(),
  });

export type RaceFlags = z.input<ReturnType<typeof schemaFor>>;

export function parseRaceOptions(
  specs: readonly string[],
  flags: RaceFlags,
  outcomeKinds: readonly string[],
): RaceOptions {
  const parsed = schemaFor(outcomeKinds).safeParse(flags);
  const problems = parsed.success ? [] : issueLines(parsed.error);
  if (flags.fromLog === undefined && specs.length === 0)
    problems.push('give at least one spec file (hindsight race deadlock.yaml), or --from-log FILE');
  if (flags.fromLog !== undefined && specs.length > 0)
    problems.push(
      '--from-log writes a spec instead of running specs: give it alone, then run the spec it writes',
    );
  if (flags.out !== undefined && flags.fromLog === undefined)
    problems.push('--out is where --from-log writes its spec; use --junit or --json for reports');
  if (flags.expected !== undefined && (specs.length !== 1 || flags.fromLog !== undefined))
    problems.push(
      '--expected compares the output of one spec with one expected file: give exactly one .spec (hindsight race --expected foo.out foo.spec)',
    );
  if (!parsed.success || problems.length > 0) throw optionsError('RACE_BAD_OPTIONS', problems);
  const o = parsed.data;
  return {
    specs,
    db: o.db ?? null,
    seed: o.seed ?? null,
    maxSchedules: o.maxSchedules ?? null,
    schedule: o.schedule ?? null,
    first: o.first,
    shrink: o.shrink,
    allow: o.allow ?? null,
    overlap: o.overlap,
    json: o.json,
    junit: o.junit ?? null,
    fromLog: o.fromLog ?? null,
    out: o.out ?? null,
    expected: o.expected ?? null,
  };
}
