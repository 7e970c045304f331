import { z } from 'zod';
import { LOG_FORMATS, type LogFormatChoice } from '../core/log-event.js';
import { issueLines, optionsError } from './option-problems.js';
import { parseLogTimezone, type LogTimezone } from '../postgres-log/log-timezone.js';

export type OutputKind = 'text' | 'json' | 'md';

/** `hindsight analyze` options, checked once at the edge; every problem is reported together. */
export interface AnalyzeOptions {
  readonly files: readonly string[];
  readonly since: number | null;
  readonly until: number | null;
  readonly logPrefix: string | null;
  readonly format: LogFormatChoice;
  readonly output: OutputKind;
  readonly htmlFile: string | null;
  readonly top: number;
  /** Worker threads for large plain files; 0 = read everything on the main thread. */
  readonly jobs: number;
  readonly progress: boolean;
  /** syslog: the year of `Mon DD` timestamps (null: each file's modification time tells). */
  readonly year: number | null;
  /** `--log-timezone`: the server's log_timezone, for abbreviations several zones share (`IST`, `CST`). */
  readonly logTimezone: LogTimezone | null;
}

/**
 * `2026-11-23 15:00`, `2026-11-23T15:00:00+02:00`, `2026-11-23 15:00:00 UTC`: a time without a zone
 * is UTC (log timestamps are read with their own zone, so the window is unambiguous).
 */
export function parseTime(text: string): number | null {
  let value = text
    .trim()
    .replace(/ (UTC|GMT|Z)$/i, 'Z')
    .replace(' ', 'T');
  if (/^\d{4}-\d\d-\d\d$/.test(value)) value += 'T00:00';
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(value)) value += 'Z';
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : at;
}

const time = (flag: string) =>
  z.string().transform((text, ctx) => {
    const at = parseTime(text);
    if (at === null) {
      ctx.addIssue({
        code: 'custom',
        message: `${flag} "${text}" is not a time: use e.g. 2026-03-01 15:00 (UTC) or 2026-03-01T15:00:00-05:00`,
      });
      return z.NEVER;
    }
    return at;
  });

/** A whole number from the command line, in a range, with the message a user needs. */
const whole = (flag: string, min: number, max: number, what = `a whole number from ${min} to ${max}`) =>
  z.string().transform((text, ctx) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `${flag} must be ${what}, not "${text}"` });
      return z.NEVER;
    }
    return n;
  });

/** `--log-timezone ZONE`: an IANA zone or an offset (the watch command takes the same). */
export const logTimezoneOption = z.string().transform((text, ctx) => {
  const parsed = parseLogTimezone(text);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.zone;
});

const schema = z.object({
  files: z
    .array(z.string())
    .min(1, 'give at least one log file (or - for stdin)')
    .refine((files) => files.filter((f) => f === '-').length <= 1, 'stdin (-) can be given only once'),
  since: time('--since').optional(),
  until: time('--until').optional(),
  logPrefix: z.string().optional(),
  logFormat: z
    .enum(['auto', ...LOG_FORMATS], { error: `--log-format must be one of auto, ${LOG_FORMATS.join(', ')}` })
    .default('auto'),
  json: z.boolean().default(false),
  md: z.boolean().default(false),
  html: z.string().min(1, '--html needs a file path').optional(),
  top: whole('--top', 1, 1000).default(25),
  jobs: whole('--jobs', 0, 16).default(2),
  progress: z.boolean().default(true),
  year: whole('--year', 1970, 9999, 'a year such as 2026').optional(),
  logTimezone: logTimezoneOption.optional(),
});

/** The flags as commander hands them over (strings until validated). */
export type AnalyzeFlags = Omit<z.input<typeof schema>, 'files'>;

export function parseAnalyzeOptions(files: readonly string[], flags: AnalyzeFlags): AnalyzeOptions {
  const parsed = schema.safeParse({ ...flags, files });
  // File problems name no flag. Checks across flags run on the raw flags, so that they are
  // reported together with the others (zod skips refinements of an object with problems).
  const problems = parsed.success ? [] : issueLines(parsed.error, { files: '' });
  const since = flags.since === undefined ? null : parseTime(flags.since);
  const until = flags.until === undefined ? null : parseTime(flags.until);
  if (since !== null && until !== null && since >= until) problems.push('--since must be before --until');
  if (flags.json === true && flags.md === true) problems.push('--json and --md: choose one');
  if (!parsed.success || problems.length > 0) throw optionsError('ANALYZE_BAD_OPTIONS', problems);
  const o = parsed.data;
  return {
    files: o.files,
    since: o.since ?? null,
    until: o.until ?? null,
    logPrefix: o.logPrefix ?? null,
    format: o.logFormat,
    output: o.json ? 'json' : o.md ? 'md' : 'text',
    htmlFile: o.html ?? null,
    top: o.top,
    jobs: o.jobs,
    progress: o.progress,
    year: o.year ?? null,
    logTimezone: o.logTimezone ?? null,
  };
}
