/** Small formatting shared by the text, Markdown and HTML renderers. */
import type { AnalysisReport } from './analysis-report.js';
export const formatMs = (ms: number): string => {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1_000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
};

/** Binary units, named as such: `287.6 MiB` is the 301.6 MB a disk tool shows. */
export const formatBytes = (bytes: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit] ?? 'B'}`;
};

/** `2026-11-23T15:02:07.123Z` → `2026-11-23 15:02:07 UTC`. */
export const formatTime = (isoTime: string | null): string =>
  isoTime === null ? '?' : `${isoTime.slice(0, 19).replace('T', ' ')} UTC`;

/** `1234567` → `1,234,567`. Not `toLocaleString`: its first call loads ICU data (~30 ms of start-up). */
export const formatCount = (n: number): string =>
  Number.isSafeInteger(n) ? String(n).replace(/\B(?=(\d{3})+$)/g, ',') : n.toLocaleString('en-US');

export const percent = (share: number): string => `${Math.round(share * 100)}%`;

export const plural = (n: number, one: string, many = `${one}s`): string =>
  `${formatCount(n)} ${n === 1 ? one : many}`;

/** One line of SQL for a table cell or a headline. */
export const oneLine = (sql: string, max = 120): string => {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/**
 * "N entries from A to B", and with --since/--until the window asked for and the span the files
 * really cover, so that an empty window says why ("the files end before it").
 */
export function describeSpan(report: Pick<AnalysisReport, 'entries' | 'window'>): string {
  const w = report.window;
  const counted =
    report.entries > 0
      ? `${plural(report.entries, 'entry', 'entries')} from ${formatTime(w.first)} to ${formatTime(w.last)}`
      : '0 entries';
  if (w.since === null && w.until === null) return counted;
  const asked = [
    w.since === null ? '' : `since ${formatTime(w.since)}`,
    w.until === null ? '' : `until ${formatTime(w.until)}`,
  ]
    .filter(Boolean)
    .join(' ');
  if (w.spanFirst === null) return `${counted} in the window ${asked}`;
  const span = `the files span ${formatTime(w.spanFirst)} to ${formatTime(w.spanLast)}`;
  const why =
    report.entries > 0
      ? ''
      : w.since !== null && w.spanLast !== null && w.spanLast < w.since
        ? ': they end before the window starts'
        : w.until !== null && w.spanFirst >= w.until
          ? ': they start after the window ends'
          : '';
  return `${counted} in the window ${asked} (${span}${why})`;
}
