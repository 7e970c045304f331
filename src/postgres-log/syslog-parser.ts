import type { StderrParser } from './stderr-parser.js';
import type { ReaderCounters } from './reader-stats.js';

/**
 * The syslog and journald envelopes around PostgreSQL's stderr text (`log_destination = 'syslog'`,
 * or a server whose stderr goes to the journal). Each line (or journal record) is stripped of its
 * envelope — time, host, program, pid — and what PostgreSQL wrote is read as a stderr line with
 * the server's `log_line_prefix`; the envelope's time and pid stand in where the prefix has none.
 *
 * PostgreSQL's `write_syslog` sends one entry (message, DETAIL, STATEMENT… lines) per sequence
 * number: `[seq-chunk] text` splits it at newlines and at 900 bytes (at a word boundary, so a
 * chunk cut by length starts with the space it was cut at); `[chunk] text` when
 * `syslog_sequence_numbers` is off, `[seq] text` for an entry sent whole. Lines of different
 * processes can interleave, so chunks are joined per program and pid.
 */

/** Where the year of a traditional `Mon DD HH:MM:SS` timestamp comes from. */
export type SyslogYear =
  /** `--year`: the year of the first line (a later January goes on to the next year). */
  | { readonly year: number }
  /** The file's modification time: no line is later than it, so a date after it is the year before. */
  | { readonly notAfter: number };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** `Nov 30 17:08:55 host postgres[123]: ` (RFC 3164, rsyslog's traditional file format). */
const TRADITIONAL = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) (\S+) ([^\s[:]+)(?:\[(\d+)\])?: ?/;
/** `2026-11-30T17:08:55.123456+01:00 host postgres[123]: ` (rsyslog's file format, `journalctl -o short-iso`). */
const ISO =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) (\S+) ([^\s[:]+)(?:\[(\d+)\])?: ?/;
/** RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`. */
const RFC5424 =
  /^(?:<\d{1,3}>)?1 (\d{4}-\d\d-\d\dT\S+) (\S+) (\S+) (\S+) \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: \uFEFF?|$)/;
/**
 * Heroku Postgres through logplex (`heroku logs`, a log drain): `TIME app[postgres.PID]: [COLOR] `,
 * then write_syslog's `[seq-chunk] ` and the text with Heroku's fixed log_line_prefix
 * `' sql_error_code = %e '`.
 */
export const HEROKU =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) (?:app|heroku)\[postgres\.(\d+)\]: \[([\w-]+)\] /;
/** The same through a syslog drain (RFC 5424 without structured data): `<PRI>1 TIME HOST app postgres.PID - [COLOR] `. */
export const HEROKU_DRAIN =
  /^(?:<\d{1,3}>)?1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) \S+ app postgres\.(\d+) - \[([\w-]+)\] /;
/** Heroku's log_line_prefix without the space it starts with (the envelope reader drops that). */
export const HEROKU_LINE_PREFIX = 'sql_error_code = %e ';
const HEROKU_NUMBERED_TEXT = /^(\[\d+(?:-\d+)?\] ) (?=sql_error_code = )/;
/** PostgreSQL's numbering: `[seq-chunk] `, `[seq] ` or `[chunk] `. */
const NUMBERING = /^\[(\d+)(?:-(\d+))?\] /;
/** rsyslog writes control characters as `#` and three octal digits (`#011` is a tab). */
const ESCAPED_CONTROL = /#([0-3][0-7][0-7])/g;
/** A chunk this long (in bytes) was cut by length, even when the next one does not start with a space. */
const CUT_BY_LENGTH = 897;
/** An open entry whose process logged nothing for this many lines is complete. */
const STALE_LINES = 32;
/** At most this many entries held open at once (bounded memory). */
const MAX_OPEN = 256;
const MAX_MONTH_AHEAD = 1;

/** What an envelope said about one line. */
interface Envelope {
  at: number | null;
  pid: number | null;
  /** Host, program and pid: lines of one process of one cluster. */
  source: string;
  body: string;
}

interface OpenEntry {
  readonly pid: number | null;
  /** The envelope time of each line (a bare `[n]` cannot always be told from a chunk number). */
  times: (number | null)[];
  readonly seq: number | null;
  chunk: number;
  lines: string[];
  lastChunkBytes: number;
  touched: number;
}

/** A syslog or journal line, as an envelope and the text PostgreSQL wrote; null when it is neither. */
export function readEnvelope(
  line: string,
  year: SyslogYear | null,
  previousMonth: { value: number },
): Envelope | null {
  if (line.charCodeAt(0) === 123 /* { */) return readJournalRecord(line);
  let match = TRADITIONAL.exec(line);
  if (match !== null) {
    const month = MONTHS.indexOf(match[1] ?? '');
    if (month < 0) return null;
    const at = traditionalTime(month, match, year, previousMonth);
    return envelope(at, match[8], `${match[6] ?? ''} ${match[7] ?? ''}`, line.slice(match[0].length));
  }
  match = HEROKU.exec(line) ?? HEROKU_DRAIN.exec(line);
  if (match !== null) {
    const at = Date.parse(isoWithColon(match[1] ?? ''));
    // The prefix's leading space would read as a chunk cut by length: the text starts at `sql_error_code`.
    const body = line.slice(match[0].length).replace(HEROKU_NUMBERED_TEXT, '$1');
    return envelope(Number.isNaN(at) ? null : at, match[2], `heroku ${match[3] ?? ''}`, body);
  }
  match = ISO.exec(line);
  if (match !== null) {
    const at = Date.parse(isoWithColon(match[1] ?? ''));
    return envelope(
      Number.isNaN(at) ? null : at,
      match[4],
      `${match[2] ?? ''} ${match[3] ?? ''}`,
      line.slice(match[0].length),
    );
  }
  match = RFC5424.exec(line);
  if (match !== null) {
    const at = Date.parse(isoWithColon(match[1] ?? ''));
    const procid = match[4];
    return envelope(
      Number.isNaN(at) ? null : at,
      procid !== undefined && /^\d+$/.test(procid) ? procid : undefined,
      `${match[2] ?? ''} ${match[3] ?? ''}`,
      line.slice(match[0].length),
    );
  }
  return null;
}

function envelope(at: number | null, pid: string | undefined, program: string, body: string): Envelope {
  return { at, pid: pid === undefined ? null : Number(pid), source: `${program}[${pid ?? ''}]`, body };
}

/** `+0100` (journalctl) → `+01:00` (what Date.parse reads). */
function isoWithColon(text: string): string {
  return /[+-]\d{4}$/.test(text) ? `${text.slice(0, -2)}:${text.slice(-2)}` : text;
}

function traditionalTime(
  month: number,
  match: RegExpExecArray,
  year: SyslogYear | null,
  previousMonth: { value: number },
): number | null {
  if (year === null) return null;
  const day = Number(match[2]);
  const time = [Number(match[3]), Number(match[4]), Number(match[5])] as const;
  if ('year' in year) {
    // The year of the first line; a month well before the last one is the next year (Dec → Jan).
    if (previousMonth.value === -1) previousMonth.value = month + year.year * 12;
    let months = Math.floor(previousMonth.value / 12) * 12 + month;
    if (months < previousMonth.value - 6) months += 12;
    previousMonth.value = months;
    return Date.UTC(Math.floor(months / 12), month, day, ...time);
  }
  const latest = new Date(year.notAfter);
  const sameYear = Date.UTC(latest.getUTCFullYear(), month, day, ...time);
  // A day after the file's last write is of the year before (a log that spans New Year).
  return sameYear > year.notAfter + MAX_MONTH_AHEAD * 86_400_000
    ? Date.UTC(latest.getUTCFullYear() - 1, month, day, ...time)
    : sameYear;
}

/** `journalctl -o json`: one object per line, the text in MESSAGE (an array of bytes when not plain UTF-8). */
function readJournalRecord(line: string): Envelope | null {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof record !== 'object' || record === null) return null;
  const fields = record as Record<string, unknown>;
  if (fields.MESSAGE === undefined && typeof fields.textPayload === 'string')
    return readCloudLoggingEntry(fields, fields.textPayload);
  if (fields.MESSAGE === undefined) return readAzureRecord(fields);
  const raw = fields.MESSAGE;
  const body =
    typeof raw === 'string' ? raw : Array.isArray(raw) ? Buffer.from(raw as number[]).toString('utf8') : null;
  if (body === null) return null;
  const realtime = fields.__REALTIME_TIMESTAMP;
  const at =
    typeof realtime === 'string' && /^\d+$/.test(realtime) ? Math.floor(Number(realtime) / 1000) : null;
  const pid =
    typeof fields._PID === 'string'
      ? fields._PID
      : typeof fields.SYSLOG_PID === 'string'
        ? fields.SYSLOG_PID
        : undefined;
  const program = text(fields.SYSLOG_IDENTIFIER) ?? text(fields._COMM) ?? '';
  const host = text(fields._HOSTNAME) ?? '';
  return envelope(at, pid, `${host} ${program}`, body);
}

/**
 * Google Cloud SQL: a Cloud Logging entry (a JSON line of a Cloud Storage sink, or of `gcloud
 * logging read --format=json` made one per line) per stderr line, in `textPayload`; `timestamp`
 * (RFC 3339) stands in for a prefix without time. The pid is the prefix's (`[%p]`).
 */
function readCloudLoggingEntry(fields: Record<string, unknown>, body: string): Envelope {
  const timestamp = text(fields.timestamp);
  const parsed = timestamp === undefined ? Number.NaN : Date.parse(timestamp);
  const resource = fields.resource as { labels?: { database_id?: unknown } } | undefined;
  const database = text(resource?.labels?.database_id) ?? '';
  return envelope(Number.isNaN(parsed) ? null : parsed, undefined, `cloudsql ${database}`, body);
}

/**
 * Azure Database for PostgreSQL flexible server: a diagnostic-settings record of the
 * PostgreSQLLogs category — a storage account's `PT1H.json` line (`{time, resourceId, category,
 * operationName, properties: {prefix, message, detail, hint, context, errorLevel, sqlerrcode,
 * processId…}}`), or a Log Analytics row (`PGSQLServerLogs`: `TimeGenerated, Prefix, Message,
 * ErrorLevel, SqlerrCode…`; `AzureDiagnostics`: `Message, errorLevel_s, prefix_s…`). The record
 * is written back as the stderr lines the server wrote (its `prefix` on each, text continued after
 * a tab), read with log_line_prefix `%t-%c-` (Azure's default) or whatever the prefix shows.
 */
function readAzureRecord(fields: Record<string, unknown>): Envelope | null {
  const nested = fields.properties;
  const record = typeof nested === 'object' && nested !== null ? (nested as Record<string, unknown>) : fields;
  const value = azureFields(record);
  const severity = value('errorlevel');
  const message = value('message');
  if (severity === undefined || message === undefined || !/^[A-Z0-9]+$/.test(severity)) return null;
  const prefix = value('prefix') ?? '';
  const lines = [`${prefix}${severity}:  ${tabbed(message)}`];
  for (const [keyword, name] of [
    ['DETAIL', 'detail'],
    ['HINT', 'hint'],
    ['QUERY', 'query'],
    ['CONTEXT', 'context'],
    ['STATEMENT', 'statement'],
  ] as const) {
    const part = value(name);
    if (part !== undefined && part !== '') lines.push(`${prefix}${keyword}:  ${tabbed(part)}`);
  }
  const time = value('timegenerated') ?? text(fields.time) ?? value('timestamp');
  const at = time === undefined ? Number.NaN : Date.parse(time);
  const pid = value('processid');
  const server = value('logicalservername') ?? text(fields.resourceId) ?? value('resource') ?? '';
  return envelope(
    Number.isNaN(at) ? null : at,
    pid !== undefined && /^\d+$/.test(pid) ? pid : undefined,
    `azure ${server}`,
    lines.join('\n'),
  );
}

/** A record's fields by name, whatever the casing and Log Analytics' type suffix (`errorLevel_s`). */
function azureFields(record: Record<string, unknown>): (name: string) => string | undefined {
  const byName = new Map<string, unknown>();
  for (const [key, raw] of Object.entries(record)) byName.set(key.toLowerCase().replace(/_[sd]$/, ''), raw);
  return (name) => {
    const raw = byName.get(name);
    return typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : undefined;
  };
}

/** A message's later lines as PostgreSQL writes them on stderr: after a tab. */
const tabbed = (message: string): string => message.replaceAll('\n', '\n\t');

/** Bytes of a chunk, counted only when it could be near PostgreSQL's 900-byte cut. */
const byteLength = (chunk: string): number =>
  chunk.length * 3 < CUT_BY_LENGTH ? chunk.length : Buffer.byteLength(chunk);

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function unescapeControls(text: string): string {
  if (!text.includes('#')) return text;
  return text.replace(ESCAPED_CONTROL, (escape, octal: string) => {
    const code = parseInt(octal, 8);
    return code < 32 ? String.fromCharCode(code) : escape;
  });
}

/** True for a line that starts an entry (cutting a file for workers): not a later chunk of one. */
export function syslogEntryStart(line: string): boolean {
  const found = readEnvelope(line, null, { value: -1 });
  if (found === null) return false;
  const numbering = NUMBERING.exec(found.body);
  if (numbering === null) return !found.body.startsWith('\t') && !found.body.startsWith('#011');
  // `[seq-chunk]`: the first chunk; a bare `[n]` cannot be told apart (an entry sent whole, or a chunk).
  return numbering[2] === undefined || numbering[2] === '1';
}

/**
 * Reads syslog (traditional, ISO and RFC 5424 lines) and journald (`-o json`, `-o short-iso`)
 * through a stderr parser: an entry's chunks are joined per process, then read as stderr lines.
 */
export class SyslogParser {
  readonly #stderr: StderrParser;
  readonly #counters: ReaderCounters;
  readonly #year: SyslogYear | null;
  readonly #previousMonth = { value: -1 };
  readonly #open = new Map<string, OpenEntry>();
  #lineNo = 0;
  /** A `[seq-chunk]` line was seen: a bare `[n]` is then a whole entry's sequence number. */
  #sequenceNumbers = false;
  /**
   * The last syslog header (the line up to its text) and what it said: the lines of an entry, and
   * of one process in one second, share it, so their envelope is not parsed again.
   */
  #header = '';
  #envelope: Envelope | null = null;

  constructor(init: { stderr: StderrParser; counters: ReaderCounters; year: SyslogYear | null }) {
    this.#stderr = init.stderr;
    this.#counters = init.counters;
    this.#year = init.year;
  }

  get buffered(): number {
    let n = this.#stderr.buffered;
    for (const entry of this.#open.values()) for (const line of entry.lines) n += line.length;
    return n;
  }

  readonly line = (text: string, start: number, end: number, truncated: boolean): void => {
    this.#lineNo++;
    if (start === end) {
      this.#counters.lines++;
      this.#counters.skip('blank', text, start, end);
      return;
    }
    let found = this.#envelope;
    let raw: string;
    if (found !== null && text.startsWith(this.#header, start)) {
      raw = text.slice(start + this.#header.length, end);
    } else {
      const line = text.slice(start, end);
      found = readEnvelope(line, this.#year, this.#previousMonth);
      if (found === null) {
        this.#counters.lines++;
        this.#counters.skip('unmatched-envelope', line);
        return;
      }
      raw = found.body;
      // A journal record's text is not a suffix of its line, a Heroku line's is changed: nothing to reuse.
      const cacheable =
        line.charCodeAt(0) !== 123 /* { */ && !found.source.startsWith('heroku ') && line.endsWith(raw);
      this.#header = cacheable ? line.slice(0, line.length - raw.length) : '';
      this.#envelope = cacheable ? found : null;
    }
    const body = unescapeControls(raw);
    const numbering = NUMBERING.exec(body);
    if (numbering === null) {
      // Sent whole, without numbering (or stderr captured by the journal): a stderr line.
      this.#close(found.source);
      this.#feed(found, body, truncated);
      return;
    }
    const text2 = body.slice(numbering[0].length);
    const first = Number(numbering[1]);
    const second = numbering[2] === undefined ? null : Number(numbering[2]);
    if (second !== null) this.#sequenceNumbers = true;
    // `[seq]` (sequence numbers, sent whole) or `[chunk]` (no sequence numbers, split).
    const seq = second !== null ? first : this.#sequenceNumbers ? first : null;
    const chunk = second ?? (this.#sequenceNumbers ? null : first);
    if (chunk === null) {
      this.#close(found.source);
      this.#feed(found, text2, truncated);
      return;
    }
    const open = this.#open.get(found.source);
    if (open !== undefined && open.seq === seq && chunk === open.chunk + 1) {
      // A chunk cut by length goes on the same line; one cut at a newline is the next line.
      if (text2.startsWith(' ') || open.lastChunkBytes >= CUT_BY_LENGTH) {
        const last = open.lines.length - 1;
        open.lines[last] = (open.lines[last] ?? '') + text2;
      } else {
        open.lines.push(text2);
        open.times.push(found.at);
      }
      open.chunk = chunk;
      open.lastChunkBytes = byteLength(text2);
      open.touched = this.#lineNo;
      return;
    }
    this.#close(found.source);
    this.#closeStale();
    this.#open.set(found.source, {
      pid: found.pid,
      times: [found.at],
      seq,
      chunk,
      lines: [text2],
      lastChunkBytes: byteLength(text2),
      touched: this.#lineNo,
    });
  };

  /** Emits every entry held (the file went quiet, or ended). */
  flush(): void {
    for (const source of [...this.#open.keys()]) this.#close(source);
    this.#stderr.flush();
  }

  #closeStale(): void {
    if (this.#open.size === 0) return;
    for (const [source, entry] of this.#open) {
      if (this.#lineNo - entry.touched > STALE_LINES || this.#open.size >= MAX_OPEN) this.#close(source);
    }
  }

  #close(source: string): void {
    const entry = this.#open.get(source);
    if (entry === undefined) return;
    this.#open.delete(source);
    this.#stderr.envelopePid = entry.pid;
    for (let i = 0; i < entry.lines.length; i++) {
      this.#stderr.envelopeAt = entry.times[i] ?? null;
      this.#lines(entry.lines[i] ?? '', false);
    }
    this.#stderr.flush();
  }

  #feed(found: Envelope, body: string, truncated: boolean): void {
    this.#stderr.envelopeAt = found.at;
    this.#stderr.envelopePid = found.pid;
    this.#lines(body, truncated);
  }

  /** A text with newlines (an entry sent whole, `#012` unescaped) is several stderr lines. */
  #lines(body: string, truncated: boolean): void {
    let start = 0;
    for (let newline = body.indexOf('\n'); newline >= 0; newline = body.indexOf('\n', start)) {
      this.#stderr.line(body, start, newline, false);
      start = newline + 1;
    }
    if (start < body.length) this.#stderr.line(body, start, body.length, truncated);
  }
}
