import { userError } from '../core/errors.js';

export type LogFormatOption = 'auto' | 'stderr' | 'csvlog' | 'jsonlog' | 'syslog' | 'journald';
export type OutputKind = 'text' | 'json' | 'md';

/** `hindsight analyze` options, checked once at the edge; every problem is reported together. */
export interface AnalyzeOptions {
  readonly files: readonly string[];
  readonly since: number | null;
  readonly until: number | null;
  readonly logPrefix: string | null;
  readonly format: LogFormatOption;
  readonly output: OutputKind;
  readonly htmlFile: string | null;
  readonly top: number;
  /** Worker threads for large plain files; 0 = read everything on the main thread. */
  readonly jobs: number;
  readonly progress: boolean;
  /** syslog: the year of `Mon DD` timestamps (null: each file's modification time tells). */
  readonly year: number | null;
}

export interface AnalyzeFlags {
  readonly since?: string;
  readonly until?: string;
  readonly logPrefix?: string;
  readonly logFormat?: string;
  readonly json?: boolean;
  readonly md?: boolean;
  readonly html?: string;
  readonly top?: string;
  readonly jobs?: string;
  readonly progress?: boolean;
  readonly year?: string;
}

/**
 * `2026-11-23 15:00`, `2026-11-23T15:00:00+02:00`, `2026-11-23 15:00:00 UTC`: a time without a zone
 * is UTC (log timestamps are read with their own zone, so the window is unambiguous).
 */
export function parseTime(text: string): number | null {
  let value = text.trim().replace(/ (UTC|GMT|Z)$/i, 'Z').replace(' ', 'T');
  if (/^\d{4}-\d\d-\d\d$/.test(value)) value += 'T00:00';
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(value)) value += 'Z';
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : at;
}

const FORMATS: readonly LogFormatOption[] = ['auto', 'stderr', 'csvlog', 'jsonlog', 'syslog', 'journald'];

export function parseAnalyzeOptions(files: readonly string[], flags: AnalyzeFlags): AnalyzeOptions {
  const problems: string[] = [];
  const time = (name: string, text: string | undefined): number | null => {
    if (text === undefined) return null;
    const at = parseTime(text);
    if (at === null) problems.push(`--${name} "${text}" is not a time: use e.g. 2026-03-01 15:00 (UTC) or 2026-03-01T15:00:00-05:00`);
    return at;
  };
  const since = time('since', flags.since);
  const until = time('until', flags.until);
  if (since !== null && until !== null && since >= until) problems.push('--since must be before --until');
  const format = (flags.logFormat ?? 'auto') as LogFormatOption;
  if (!FORMATS.includes(format)) problems.push(`--log-format must be one of ${FORMATS.join(', ')}, not "${flags.logFormat ?? ''}"`);
  if (flags.json === true && flags.md === true) problems.push('choose one of --json and --md');
  const top = Number(flags.top ?? '25');
  if (!Number.isInteger(top) || top < 1 || top > 1000) problems.push('--top must be a whole number from 1 to 1000');
  const jobs = flags.jobs === undefined ? 2 : Number(flags.jobs);
  if (!Number.isInteger(jobs) || jobs < 0 || jobs > 16) problems.push('--jobs must be a whole number from 0 to 16');
  const year = flags.year === undefined ? null : Number(flags.year);
  if (year !== null && (!Number.isInteger(year) || year < 1970 || year > 9999)) problems.push(`--year must be a year such as 2026, not "${flags.year ?? ''}"`);
  if (files.length === 0) problems.push('give at least one log file (or - for stdin)');
  if (files.filter((f) => f === '-').length > 1) problems.push('stdin (-) can be given only once');
  if (problems.length > 0) throw userError('ANALYZE_BAD_OPTIONS', problems.join('; '));
  return {
    files,
    since,
    until,
    logPrefix: flags.logPrefix ?? null,
    format,
    output: flags.json === true ? 'json' : flags.md === true ? 'md' : 'text',
    htmlFile: flags.html ?? null,
    top,
    jobs,
    progress: flags.progress !== false,
    year,
  };
}
