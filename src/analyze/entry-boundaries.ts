import { open } from 'node:fs/promises';
import { CONTINUATION_KEYWORDS, compileLinePrefix } from '../postgres-log/line-prefix.js';
import { CSV_RECORD_HEAD, type LogFormat } from '../postgres-log/log-format.js';
import { syslogEntryStart } from '../postgres-log/syslog-parser.js';

/** Says whether a line (without its `\n`) starts a log entry, so a file can be cut there. */
export type EntryStartTest = (line: string) => boolean;

const CONTINUATIONS = new Set<string>(CONTINUATION_KEYWORDS);

/**
 * stderr: a line with the prefix and a message severity (not DETAIL/STATEMENT…, not a tab
 * continuation); csvlog: a line opening with the 13 columns of a record; jsonlog: a line opening
 * with `{` (one object per line).
 */
export function entryStartTest(format: LogFormat, prefix: string | null): EntryStartTest {
  if (format === 'jsonlog' || format === 'cloudnative-pg') return (line) => line.startsWith('{');
  if (format === 'csvlog') return (line) => CSV_RECORD_HEAD.test(line);
  // The log is inside JSON strings: no line of the file starts an entry, it is read whole.
  if (format === 'rds') return () => false;
  if (
    format === 'syslog' ||
    format === 'journald' ||
    format === 'cloudsql' ||
    format === 'heroku' ||
    format === 'azure'
  )
    return syslogEntryStart;
  const compiled = compileLinePrefix(prefix ?? '');
  return (line) => {
    if (line.startsWith('\t')) return false;
    compiled.regex.lastIndex = 0;
    const match = compiled.regex.exec(line);
    if (match === null) return false;
    const severity = match[compiled.severityGroup];
    return severity !== undefined && !CONTINUATIONS.has(severity);
  };
}

const WINDOW = 1 << 20;
const MAX_SCAN = 8 * WINDOW;

/**
 * The offset of the first entry start at or after `position` (at most 8 MB on), or null. Lines
 * are decoded one at a time from a 1 MB window; only a few are looked at in practice.
 */
export async function findEntryStart(
  path: string,
  position: number,
  isStart: EntryStartTest,
): Promise<number | null> {
  if (position === 0) return 0;
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(WINDOW);
    // Begin at the line after the one `position` falls in.
    let offset = position - 1;
    let scanned = 0;
    let atLineStart = false;
    while (scanned < MAX_SCAN) {
      const { bytesRead } = await handle.read(buffer, 0, WINDOW, offset);
      if (bytesRead === 0) return null;
      let i = 0;
      if (!atLineStart) {
        const newline = buffer.indexOf(10, 0);
        if (newline < 0 || newline >= bytesRead) {
          offset += bytesRead;
          scanned += bytesRead;
          continue;
        }
        i = newline + 1;
        atLineStart = true;
      }
      while (i < bytesRead) {
        const newline = buffer.indexOf(10, i);
        if (newline < 0 || newline >= bytesRead) break;
        if (isStart(buffer.toString('utf8', i, Math.min(newline, i + 4096)))) return offset + i;
        i = newline + 1;
      }
      if (i === 0) return null; // a line longer than the window: give up splitting here
      offset += i;
      scanned += i;
    }
    return null;
  } finally {
    await handle.close();
  }
}
