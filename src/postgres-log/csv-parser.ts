import type { LogEvent } from '../core/log-event.js';
import { isEnglishSeverity } from './line-prefix.js';
import { LogEntry } from './log-entry.js';
import type { TimestampParser } from './log-timestamp.js';
import type { ReaderCounters } from './reader-stats.js';

/**
 * csvlog columns (PostgreSQL 13 has the first 23; 14+ adds backend_type, leader_pid, query_id).
 * Only the ones a `LogEvent` needs are named.
 */
const COLUMN = {
  logTime: 0,
  user: 1,
  database: 2,
  pid: 3,
  connectionFrom: 4,
  sessionId: 5,
  severity: 11,
  sqlstate: 12,
  message: 13,
  detail: 14,
  hint: 15,
  internalQuery: 16,
  context: 18,
  query: 19,
  application: 22,
} as const;
const MIN_COLUMNS = 23;
/** More than this is not a csvlog record (garbage that happens to hold many commas). */
const MAX_COLUMNS = 40;

type State = 'fieldStart' | 'unquoted' | 'quoted' | 'quoteInQuoted' | 'skipLine';

/**
 * RFC 4180 records (quoted fields may hold newlines and `""`), read as a resumable state machine
 * over decoded text so that a record may span chunks. Field text is capped per record; a record
 * that breaks the syntax is dropped up to the end of its line, which resynchronises on the next.
 */
export class CsvParser {
  readonly #counters: ReaderCounters;
  readonly #times: TimestampParser;
  readonly #maxRecordLength: number;
  readonly #out: LogEvent[];
  #state: State = 'fieldStart';
  #fields: string[] = [];
  /** The field being read (a concatenation only when it spans chunks or holds `""`). */
  #field = '';
  #length = 0;
  #truncated = false;
  #started = false;

  constructor(init: {
    counters: ReaderCounters;
    times: TimestampParser;
    maxRecordLength: number;
    out: LogEvent[];
  }) {
    this.#counters = init.counters;
    this.#times = init.times;
    this.#maxRecordLength = init.maxRecordLength;
    this.#out = init.out;
  }

  /** Characters held by the record being read. */
  get buffered(): number {
    return this.#length;
  }

  text(text: string): void {
    const n = text.length;
    let i = 0;
    while (i < n) {
      switch (this.#state) {
        case 'fieldStart': {
          this.#started = true;
          if (text.charCodeAt(i) === 34 /* " */) {
            this.#state = 'quoted';
            i++;
          } else {
            this.#state = 'unquoted';
          }
          break;
        }
        case 'unquoted': {
          let j = i;
          let code = 0;
          while (j < n) {
            code = text.charCodeAt(j);
            if (code === 44 /* , */ || code === 10 /* \n */) break;
            j++;
          }
          this.#append(text, i, j > i && code === 10 && text.charCodeAt(j - 1) === 13 ? j - 1 : j);
          if (j === n) return;
          this.#endField();
          if (code === 10) this.#endRecord(text);
          this.#state = 'fieldStart';
          i = j + 1;
          break;
        }
        case 'quoted': {
          const quote = text.indexOf('"', i);
          if (quote < 0) {
            this.#countLines(text, i, n);
            this.#append(text, i, n);
            return;
          }
          this.#countLines(text, i, quote);
          this.#append(text, i, quote);
          this.#state = 'quoteInQuoted';
          i = quote + 1;
          break;
        }
        case 'quoteInQuoted': {
          const code = text.charCodeAt(i);
          if (code === 34) {
            this.#append(text, i, i + 1);
            this.#state = 'quoted';
            i++;
          } else if (code === 44) {
            this.#endField();
            this.#state = 'fieldStart';
            i++;
          } else if (code === 10) {
            this.#endField();
            this.#endRecord(text);
            this.#state = 'fieldStart';
            i++;
          } else if (code === 13) {
            i++; // `\r\n` line ends
          } else {
            this.#broken(text, i);
          }
          break;
        }
        case 'skipLine': {
          const newline = text.indexOf('\n', i);
          if (newline < 0) return;
          this.#counters.lines++;
          this.#reset();
          i = newline + 1;
          break;
        }
      }
    }
  }

  /** End of input: a record without its final newline still counts. */
  end(text: string): void {
    if (this.#state === 'quoted' || this.#state === 'skipLine') {
      if (this.#started)
        this.#counters.skip('invalid-csv', text.length > 0 ? text : '(unterminated quoted field)');
      this.#reset();
      return;
    }
    if (this.#started && (this.#fields.length > 0 || this.#length > 0 || this.#state === 'quoteInQuoted')) {
      this.#endField();
      this.#endRecord(text);
    }
    this.#reset();
  }

  #append(text: string, start: number, end: number): void {
    if (start === end) return;
    const room = this.#maxRecordLength - this.#length;
    if (room <= 0) {
      this.#truncated = true;
      return;
    }
    const take = Math.min(room, end - start);
    if (take < end - start) this.#truncated = true;
    this.#field += text.slice(start, start + take);
    this.#length += take;
  }

  #endField(): void {
    this.#fields.push(this.#field);
    this.#field = '';
  }

  #countLines(text: string, start: number, end: number): void {
    let newline = text.indexOf('\n', start);
    while (newline >= 0 && newline < end) {
      this.#counters.lines++;
      newline = text.indexOf('\n', newline + 1);
    }
  }

  #broken(text: string, at: number): void {
    const lineStart = text.lastIndexOf('\n', at) + 1;
    const lineEnd = text.indexOf('\n', at);
    this.#counters.skip('invalid-csv', text, lineStart, lineEnd < 0 ? text.length : lineEnd);
    this.#state = 'skipLine';
    this.#fields = [];
    this.#field = '';
    this.#length = 0;
  }

  #reset(): void {
    this.#state = 'fieldStart';
    this.#fields = [];
    this.#field = '';
    this.#length = 0;
    this.#truncated = false;
    this.#started = false;
  }

  #endRecord(text: string): void {
    const counters = this.#counters;
    counters.lines++;
    const fields = this.#fields;
    const truncated = this.#truncated;
    this.#reset();
    if (fields.length === 1 && fields[0] === '') {
      counters.skip('blank', '');
      return;
    }
    if (fields.length < MIN_COLUMNS || fields.length > MAX_COLUMNS) {
      counters.skip('invalid-csv', fields.join(',').slice(0, 200) || text.slice(0, 200));
      if (truncated) counters.truncated++;
      return;
    }
    const entry = new LogEntry(Number.POSITIVE_INFINITY);
    const at = fields[COLUMN.logTime] ?? '';
    entry.at = this.#times.parseDateTime(at);
    const pid = fields[COLUMN.pid] ?? '';
    entry.pid = pid === '' ? null : Number(pid);
    entry.user = emptyAsNull(fields[COLUMN.user]);
    entry.database = emptyAsNull(fields[COLUMN.database]);
    entry.client = emptyAsNull(fields[COLUMN.connectionFrom]);
    entry.sessionId = emptyAsNull(fields[COLUMN.sessionId]);
    entry.severity = fields[COLUMN.severity] ?? '';
    if (!isEnglishSeverity(entry.severity)) counters.nonEnglishSeverities++;
    entry.sqlstate = emptyAsNull(fields[COLUMN.sqlstate]);
    entry.application = emptyAsNull(fields[COLUMN.application]);
    entry.setColumns({
      message: fields[COLUMN.message] ?? '',
      detail: emptyAsNull(fields[COLUMN.detail]),
      hint: emptyAsNull(fields[COLUMN.hint]),
      query: emptyAsNull(fields[COLUMN.internalQuery]),
      context: emptyAsNull(fields[COLUMN.context]),
      statement: emptyAsNull(fields[COLUMN.query]),
    });
    if (truncated) counters.truncated++;
    counters.events++;
    this.#out.push(entry.finish(false));
  }
}

function emptyAsNull(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}
