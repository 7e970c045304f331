import { optionsError } from './option-problems.js';
import { NAME_PATTERN } from '../core/catalog.js';
import { FINDING_KINDS } from '../core/finding.js';
import { ALL_METRICS, isSeriesMetric, type SeriesMetric } from '../core/metrics-series.js';
import { parseDuration } from './duration.js';
import { collectServerClientOptions, type ServerClientOptions } from './server-options.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface HistoryOptions extends ServerClientOptions {
  readonly target: string;
  readonly since: number;
  readonly until: number | null;
  readonly kinds: readonly string[] | null;
  readonly limit: number;
  /** A series metric to print instead of findings (`--metric`); null for findings. */
  readonly metric: SeriesMetric | null;
}

/** `24h`, `7d` (that long before now) or an ISO 8601 date-time; null when it is neither. */
export function parseInstant(text: string, now: number): number | null {
  const ago = parseDuration(text);
  if (ago !== null) return now - ago;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : at;
}

/**
 * `hindsight history TARGET [--since 7d] [--until …] [--kind deadlock,long_transaction] [--limit N]
 * [--metric NAME]`:
 * times as a duration before now or an ISO date-time; every problem reported at once.
 */
export function parseHistoryOptions(
  target: string,
  flags: {
    readonly server?: string;
    readonly token?: string;
    readonly since?: string;
    readonly until?: string;
    readonly kind?: string;
    readonly limit?: string;
    readonly metric?: string;
  },
  now: number,
  env: Env = process.env,
): HistoryOptions {
  const problems: string[] = [];
  const client = collectServerClientOptions(flags, env, problems);
  if (!NAME_PATTERN.test(target)) {
    problems.push(`TARGET must be a target's name: 1–63 letters, digits, ".", "_" or "-" (got "${target}")`);
  }
  const instant = (flag: string, text: string | undefined): number | null => {
    if (text === undefined) return null;
    const at = parseInstant(text, now);
    if (at === null)
      problems.push(
        `${flag} must be a duration before now (24h, 7d) or an ISO date-time such as 2026-11-30T12:00:00Z (got "${text}")`,
      );
    return at;
  };
  const since = instant('--since', flags.since) ?? now - 24 * 3_600_000;
  const until = instant('--until', flags.until);
  if (until !== null && until <= since) problems.push('--until must be after --since');
  const kinds = flags.kind === undefined ? null : flags.kind.split(',').map((k) => k.trim());
  const unknown = (kinds ?? []).filter((k) => !(FINDING_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    problems.push(`--kind: unknown ${unknown.join(', ')}; use ${FINDING_KINDS.join(', ')}`);
  const limit = flags.limit === undefined ? 1000 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
    problems.push(`--limit must be a whole number from 1 to 100000 (got "${flags.limit ?? ''}")`);
  const metric = flags.metric ?? null;
  if (metric !== null && !isSeriesMetric(metric))
    problems.push(`--metric: unknown "${metric}"; use one of ${ALL_METRICS.join(', ')}`);
  if (metric !== null && kinds !== null) problems.push('--kind lists findings: leave it out with --metric');
  if (problems.length > 0 || client === null) throw optionsError('HISTORY_BAD_OPTIONS', problems);
  return { ...client, target, since, until, kinds, limit, metric: metric as SeriesMetric | null };
}
