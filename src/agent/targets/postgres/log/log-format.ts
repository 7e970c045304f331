/** The three server log formats (`log_destination` = stderr, csvlog, jsonlog). */
export type LogFormat = 'stderr' | 'csvlog' | 'jsonlog';

const CSV_RECORD_START = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}(?: [^,\n]*)?,/;
const SEVERITY = /\b(?:LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG|DETAIL|STATEMENT): {2}/;
const MAX_LINES = 50;

/**
 * Tells the format from the first lines of a log: a JSON object with `error_severity` is jsonlog,
 * a line opening with a millisecond timestamp and a comma is csvlog, a line with `SEVERITY:  ` is
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
    // A csvlog record's first line holds at least the 13 columns before the message.
    if (CSV_RECORD_START.test(line) && line.split(',').length > 13) return 'csvlog';
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
