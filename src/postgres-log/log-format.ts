/** The three server log formats (`log_destination` = stderr, csvlog, jsonlog). */
export type LogFormat = 'stderr' | 'csvlog' | 'jsonlog';

const QUOTED = '(?:"(?:[^"\\n]|"")*")?';
/**
 * The first 13 columns of a csvlog record, by their shapes: log time, user, database, pid,
 * client, session id, line number, command tag, session start, virtual xid, xid, severity,
 * SQLSTATE. A stderr line with commas in its message does not pass for one.
 */
export const CSV_RECORD_HEAD = new RegExp(
  `^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}(?: [^,\\n]*)?,${QUOTED},${QUOTED},\\d*,${QUOTED},[0-9a-f]*\\.?[0-9a-f]*,\\d*,${QUOTED},[^,\\n]*,[^,\\n]*,\\d*,[A-Z0-9]+,[0-9A-Z]{5},`,
);
const SEVERITY = /\b(?:LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG|DETAIL|STATEMENT): {2}/;
const MAX_LINES = 50;

/**
 * Tells the format from the first lines of a log: a JSON object with `error_severity` is jsonlog,
 * a line opening with the 13 columns of a csvlog record is csvlog, a line with `SEVERITY:  ` is
 * stderr. Null when nothing looks like a PostgreSQL log at all.
 */
export function detectLogFormat(sample: Buffer): LogFormat | null {
  const text = sample.subarray(0, 256 * 1024).toString('utf8');
  let looked = 0;
  let stderr = false;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('\t')) continue;
    if (++looked > MAX_LINES) break;
    if (line.startsWith('{')) {
      try {
        const record: unknown = JSON.parse(line);
        if (typeof record === 'object' && record !== null && 'error_severity' in record) return 'jsonlog';
      } catch {
        // A cut line at the end of the sample, or not JSON: look at the next one.
      }
      continue;
    }
    if (CSV_RECORD_HEAD.test(line)) return 'csvlog';
    if (SEVERITY.test(line)) stderr = true;
  }
  return stderr ? 'stderr' : null;
}

/** The format PostgreSQL's logging collector gives a file, from its name (`.csv`, `.json`, else stderr). */
export function logFormatOfFileName(name: string): LogFormat {
  if (name.endsWith('.csv')) return 'csvlog';
  if (name.endsWith('.json')) return 'jsonlog';
  return 'stderr';
}
