import type { LogEvent } from '../core/log-event.js';
import { isEnglishSeverity } from './line-prefix.js';
import { LogEntry } from './log-entry.js';
import type { TimestampParser } from './log-timestamp.js';
import type { ReaderCounters } from './reader-stats.js';

/**
 * jsonlog (PostgreSQL 15+): one JSON object per line; keys are left out when they have no value.
 * CloudNativePG's instance manager reads the server's csvlog and writes each record as
 * `{"level":…,"ts":…,"logger":"postgres","msg":"record","logging_pod":…,"record":{…}}`, the
 * record's keys named after csvlog's columns (`log_time`, `process_id`, `sql_state_code`, `query`…)
 * and every value a string (empty when the column was); its other loggers' lines are skipped.
 */
export class JsonParser {
  readonly #counters: ReaderCounters;
  readonly #times: TimestampParser;
  readonly #out: LogEvent[];
  readonly #cloudnativePg: boolean;

  constructor(init: {
    counters: ReaderCounters;
    times: TimestampParser;
    out: LogEvent[];
    /** The CloudNativePG layout (csvlog's columns under `record`). */
    cloudnativePg?: boolean;
  }) {
    this.#counters = init.counters;
    this.#times = init.times;
    this.#out = init.out;
    this.#cloudnativePg = init.cloudnativePg === true;
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
    if (this.#cloudnativePg) {
      this.#cloudnativePgRecord(record as Record<string, unknown>, text, start, end);
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

  #cloudnativePgRecord(line: Record<string, unknown>, text: string, start: number, end: number): void {
    const counters = this.#counters;
    const fields = line.record;
    if (typeof line.logger === 'string' && line.logger !== 'postgres') {
      counters.skip('other-logger', text, start, end);
      return;
    }
    if (typeof fields !== 'object' || fields === null) {
      counters.skip('invalid-json', text, start, end);
      return;
    }
    const column = (name: string): string | null => stringOrNull((fields as Record<string, unknown>)[name]);
    const severity = column('error_severity');
    const message = (fields as Record<string, unknown>).message;
    if (severity === null || typeof message !== 'string') {
      counters.skip('invalid-json', text, start, end);
      return;
    }
    const entry = new LogEntry(Number.POSITIVE_INFINITY);
    const time = column('log_time');
    entry.at = time === null ? null : this.#times.parseDateTime(time);
    const pid = column('process_id');
    entry.pid = pid !== null && /^\d+$/.test(pid) ? Number(pid) : null;
    entry.severity = severity;
    if (!isEnglishSeverity(severity)) counters.nonEnglishSeverities++;
    entry.sqlstate = column('sql_state_code');
    entry.user = column('user_name');
    entry.database = column('database_name');
    entry.application = column('application_name');
    entry.client = column('connection_from');
    entry.sessionId = column('session_id');
    entry.setColumns({
      message,
      detail: column('detail'),
      hint: column('hint'),
      query: column('internal_query'),
      context: column('context'),
      statement: column('query'),
    });
    counters.events++;
    this.#out.push(entry.finish(false));
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
