import type { LogEvent } from '../core/log-event.js';
import { type EntryPart, LogEntry, normalizeClient } from './log-entry.js';
import type { TimestampParser } from './log-timestamp.js';
import { LINE_KEYWORDS, type CompiledPrefix } from './line-prefix.js';
import type { ReaderCounters } from './reader-stats.js';

/**
 * The part a continuation keyword extends. A switch, not a keyed lookup: the keyword is a fresh
 * string from the regex, and looking it up as a property key costs a string-table probe per line.
 */
function continuationPart(keyword: string): EntryPart | undefined {
  switch (keyword) {
    case 'DETAIL':
      return 'detail';
    case 'STATEMENT':
      return 'statement';
    case 'CONTEXT':
      return 'context';
    case 'HINT':
      return 'hint';
    case 'QUERY':
      return 'query';
    case 'LOCATION':
      return 'location';
    default:
      return undefined;
  }
}

/**
 * The stderr format: every line of an entry starts with `log_line_prefix` and a keyword (`ERROR:`,
 * then `DETAIL:`, `STATEMENT:`… on lines of their own); text that spans lines goes on after a tab.
 * An entry is complete when the next one starts, or on `flush()`.
 */
export class StderrParser {
  readonly #prefix: CompiledPrefix;
  readonly #counters: ReaderCounters;
  readonly #times: TimestampParser;
  readonly #maxEntryLength: number;
  readonly #out: LogEvent[];
  readonly #pidGroup: number;
  /** `%c` without `%p` (Azure's '%t-%c-'): the session id's second half is the pid in hex. */
  readonly #sessionGroup: number;
  #entry: LogEntry | null = null;
  /** The last English line's match and head (its text up to the keyword), for `#sameHead`. */
  #match: RegExpExecArray | null = null;
  #head = '';
  /** The last continuation had no entry to go to: tab lines after it have none either. */
  #orphaned = false;
  /** syslog, journald: the envelope's time and pid, for a prefix without them (set per line). */
  envelopeAt: number | null = null;
  envelopePid: number | null = null;

  constructor(init: {
    prefix: CompiledPrefix;
    counters: ReaderCounters;
    times: TimestampParser;
    maxEntryLength: number;
    out: LogEvent[];
  }) {
    this.#prefix = init.prefix;
    this.#counters = init.counters;
    this.#times = init.times;
    this.#maxEntryLength = init.maxEntryLength;
    this.#out = init.out;
    const pidIndex = init.prefix.fields.indexOf('pid');
    this.#pidGroup = pidIndex < 0 ? -1 : pidIndex + 1;
    const sessionIndex = pidIndex < 0 ? init.prefix.fields.indexOf('sessionId') : -1;
    this.#sessionGroup = sessionIndex < 0 ? -1 : sessionIndex + 1;
  }

  /** Characters held by the entry being assembled. */
  get buffered(): number {
    return this.#entry?.length ?? 0;
  }

  readonly line = (text: string, start: number, end: number, truncated: boolean): void => {
    const counters = this.#counters;
    counters.lines++;
    if (start === end) {
      counters.skip('blank', text, start, end);
      return;
    }
    if (text.charCodeAt(start) === 9 /* tab */) {
      const entry = this.#entry;
      if (entry === null || this.#orphaned) {
        counters.skip('orphan-continuation', text, start, end);
        if (truncated) counters.truncated++;
        return;
      }
      entry.continueWith(text.slice(start + 1, end));
      if (truncated) entry.markTruncated();
      return;
    }
    let keyword = this.#sameHead(text, start, end);
    let match = this.#match;
    let english = true;
    let bodyStart: number;
    if (keyword !== null && match !== null) {
      bodyStart = start + this.#head.length + keyword.length + 3;
    } else {
      const prefix = this.#prefix;
      prefix.regex.lastIndex = start;
      match = prefix.regex.exec(text);
      if (match === null) {
        prefix.anySeverity.lastIndex = start;
        match = prefix.anySeverity.exec(text);
        english = false;
      }
      if (match === null || match.index + match[0].length > end) {
        this.#match = null;
        counters.skip('unmatched-prefix', text, start, end);
        if (truncated) counters.truncated++;
        this.#orphaned = true; // tab lines after it go on with this line, not with the entry before
        return;
      }
      keyword = match[prefix.severityGroup] ?? '';
      bodyStart = match.index + match[0].length;
      // Remember the head (prefix without the keyword) of an English line for the lines after it.
      this.#match = english ? match : null;
      if (english) this.#head = text.slice(start, bodyStart - keyword.length - 3);
    }
    const body = text.slice(bodyStart, end);
    const part = english ? continuationPart(keyword) : undefined;
    if (part !== undefined) {
      const entry = this.#entry;
      const pid = this.#pidOf(match);
      if (entry === null || (pid !== null && entry.pid !== null && pid !== entry.pid)) {
        counters.skip('orphan-continuation', text, start, end);
        if (truncated) counters.truncated++;
        this.#orphaned = true; // its tab-continued lines are orphans too
        return;
      }
      this.#orphaned = false;
      entry.set(part, body);
      if (truncated) entry.markTruncated();
      return;
    }
    this.flush();
    this.#orphaned = false;
    if (!english) counters.nonEnglishSeverities++;
    const entry = new LogEntry(this.#maxEntryLength);
    entry.severity = keyword.startsWith('DEBUG') ? 'DEBUG' : keyword;
    this.#fill(entry, match);
    entry.at ??= this.envelopeAt;
    entry.pid ??= this.envelopePid;
    entry.set('message', body);
    if (truncated) entry.markTruncated();
    this.#entry = entry;
  };

  /**
   * The keyword of a line whose head is, character for character, the last matched line's (a
   * DETAIL or STATEMENT line of the same entry, another entry of the same process in the same
   * millisecond): its fields are that line's, so the regex, its match array and a string per
   * field are skipped. Null when the head differs or no English keyword follows it.
   */
  #sameHead(text: string, start: number, end: number): string | null {
    if (this.#match === null || !text.startsWith(this.#head, start)) return null;
    const at = start + this.#head.length;
    for (const keyword of LINE_KEYWORDS) {
      const colon = at + keyword.length;
      if (
        colon + 3 <= end &&
        text.startsWith(keyword, at) &&
        text.charCodeAt(colon) === 58 &&
        text.charCodeAt(colon + 1) === 32 &&
        text.charCodeAt(colon + 2) === 32
      )
        return keyword;
    }
    return null;
  }

  /** Emits the entry being assembled (the tailer calls this when the file has gone quiet). */
  flush(): void {
    const entry = this.#entry;
    if (entry === null) return;
    this.#entry = null;
    if (entry.truncated) this.#counters.truncated++;
    this.#counters.events++;
    this.#out.push(entry.finish(true));
  }

  #pidOf(match: RegExpExecArray): number | null {
    if (this.#sessionGroup > 0) return pidOfSessionId(match[this.#sessionGroup]) ?? this.envelopePid;
    const value = this.#pidGroup < 0 ? undefined : match[this.#pidGroup];
    return value === undefined || value === '' ? this.envelopePid : Number(value);
  }

  #fill(entry: LogEntry, match: RegExpExecArray): void {
    const fields = this.#prefix.fields;
    for (let i = 0; i < fields.length; i++) {
      const raw = match[i + 1];
      if (raw === undefined) continue;
      const value = raw.trim();
      switch (fields[i]) {
        case 'timestamp':
          if (entry.at === null) {
            entry.at =
              this.#prefix.timestampKind === 'epoch'
                ? this.#times.parseEpoch(value)
                : this.#times.parseDateTime(value);
          }
          break;
        case 'pid':
          entry.pid = Number(value);
          break;
        case 'user':
          entry.user = orNull(value);
          break;
        case 'database':
          entry.database = orNull(value);
          break;
        case 'application':
          entry.application = orNull(value);
          break;
        case 'client':
          entry.client = value === '' ? null : normalizeClient(value);
          break;
        case 'sessionId':
          entry.sessionId = orNull(value);
          if (this.#sessionGroup > 0) entry.pid ??= pidOfSessionId(value);
          break;
        case 'sqlstate':
          entry.sqlstate = orNull(value);
          break;
        case 'other':
        case undefined:
          break;
      }
    }
  }
}

/** `%c` is the process start time and pid, both in hex (`6b04d116.17f4`): the pid. */
function pidOfSessionId(value: string | undefined): number | null {
  const dot = value === undefined ? -1 : value.indexOf('.');
  if (value === undefined || dot < 0) return null;
  const pid = Number.parseInt(value.slice(dot + 1), 16);
  return Number.isFinite(pid) ? pid : null;
}

/** PostgreSQL prints an unknown user or database as `[unknown]` and a missing one as nothing. */
function orNull(value: string): string | null {
  return value === '' || value === '[unknown]' ? null : value;
}
