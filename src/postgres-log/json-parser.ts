import type { LogEvent } from '../core/log-event.js';
import { isEnglishSeverity } from './line-prefix.js';
import { LogEntry } from './log-entry.js';
import type { TimestampParser } from './log-timestamp.js';
import type { ReaderCounters } from './reader-stats.js';

/** jsonlog (PostgreSQL 15+): one JSON object per line; keys are left out when they have no value. */
export class JsonParser {
  readonly #counters: ReaderCounters;
  readonly #times: TimestampParser;
  readonly #out: LogEvent[];

  constructor(init: { counters: ReaderCounters; times: TimestampParser; out: LogEvent[] }) {
    this.#counters = init.counters;
    this.#times = init.times;
    this.#out = init.out;
  }

  readonly line = (text: string, start: number, end: number, truncated: boolean): void => {
    const counters = this.#counters;
    counters.lines++;
    if (start === end) {
      counters.skip('blank', text, start, end);
      return;
    }
    let record: unknown;
    try {
      record = JSON.parse(text.slice(start, end));
    } catch {
      record = undefined;
    }
    if (truncated) counters.truncated++;
    if (typeof record !== 'object' || record === null) {
      counters.skip('invalid-json', text, start, end);
      return;
    }
    const fields = record as Record<string, unknown>;
    const severity = fields.error_severity;
    const message = fields.message;
    if (typeof severity !== 'string' || typeof message !== 'string') {
      counters.skip('invalid-json', text, start, end);
      return;
    }
    const entry = new LogEntry(Number.POSITIVE_INFINITY);
    const timestamp = fields.timestamp;
    entry.at = typeof timestamp === 'string' ? this.#times.parseDateTime(timestamp) : null;
    entry.pid = typeof fields.pid === 'number' ? fields.pid : null;
    entry.severity = severity;
    if (!isEnglishSeverity(entry.severity)) counters.nonEnglishSeverities++;
    entry.sqlstate = stringOrNull(fields.state_code);
    entry.user = stringOrNull(fields.user);
    entry.database = stringOrNull(fields.dbname);
    entry.application = stringOrNull(fields.application_name);
    const host = stringOrNull(fields.remote_host);
    const port = fields.remote_port;
    entry.client = host === null ? null : typeof port === 'number' ? `${host}:${port}` : host;
    entry.sessionId = stringOrNull(fields.session_id);
    entry.setColumns({
      message,
      detail: stringOrNull(fields.detail),
      hint: stringOrNull(fields.hint),
      query: stringOrNull(fields.internal_query),
      context: stringOrNull(fields.context),
      statement: stringOrNull(fields.statement),
    });
    counters.events++;
    this.#out.push(entry.finish(false));
  };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
