/** Small formatting shared by the text, Markdown and HTML renderers. */
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
export const formatTime = (isoTime: string | null): string => (isoTime === null ? '?' : `${isoTime.slice(0, 19).replace('T', ' ')} UTC`);

/** `1234567` → `1,234,567`. Not `toLocaleString`: its first call loads ICU data (~30 ms of start-up). */
export const formatCount = (n: number): string =>
  Number.isSafeInteger(n) ? String(n).replace(/\B(?=(\d{3})+$)/g, ',') : n.toLocaleString('en-US');

export const percent = (share: number): string => `${Math.round(share * 100)}%`;

export const plural = (n: number, one: string, many = `${one}s`): string => `${formatCount(n)} ${n === 1 ? one : many}`;

/** One line of SQL for a table cell or a headline. */
export const oneLine = (sql: string, max = 120): string => {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};
