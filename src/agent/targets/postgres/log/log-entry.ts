import type { LogEvent } from '../../../../core/log-event.js';

/** The parts of an entry a continuation can extend. */
export type EntryPart = 'message' | 'detail' | 'hint' | 'context' | 'statement' | 'query' | 'location';

const VERBOSE_SQLSTATE = /^([0-9A-Z]{5}): /;

/**
 * An entry being assembled from its lines (stderr) or columns (csvlog, jsonlog), with a size cap:
 * once `maxLength` characters are held, further text is dropped and the entry counts as truncated.
 */
export class LogEntry {
  at: number | null = null;
  pid: number | null = null;
  severity = '';
  sqlstate: string | null = null;
  user: string | null = null;
  database: string | null = null;
  application: string | null = null;
  client: string | null = null;
  sessionId: string | null = null;
  readonly parts: Record<EntryPart, string | null> = {
    message: null,
    detail: null,
    hint: null,
    context: null,
    statement: null,
    query: null,
    location: null,
  };
  /** The part a tab-continued line extends. */
  current: EntryPart = 'message';
  length = 0;
  /** Some of its text was cut: at the entry cap, or one of its lines was over the line cap. */
  truncated = false;
  #full = false;
  readonly #maxLength: number;

  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  /** Sets a part (a DETAIL line after a DETAIL line extends it on a new line). */
  set(part: EntryPart, text: string): void {
    const previous = this.parts[part];
    this.current = part;
    this.#put(part, previous === null ? text : `${previous}\n${text}`, text.length);
  }

  /** Extends the current part with a tab-continued line. */
  continueWith(text: string): void {
    const previous = this.parts[this.current];
    this.#put(this.current, previous === null ? text : `${previous}\n${text}`, text.length + 1);
  }

  #put(part: EntryPart, value: string, added: number): void {
    if (this.#full) return;
    if (this.length + added > this.#maxLength) {
      this.truncated = true;
      this.#full = true;
      const room = this.#maxLength - this.length;
      if (room <= 0) return;
      this.parts[part] = value.slice(0, value.length - added + room);
      this.length = this.#maxLength;
      return;
    }
    this.parts[part] = value;
    this.length += added;
  }

  /** The finished event. `stripCursor`: the stderr format appends ` at character N` to messages. */
  toEvent(stripCursor: boolean): LogEvent {
    let message = this.parts.message ?? '';
    let sqlstate = this.sqlstate;
    // log_error_verbosity = verbose writes `ERROR:  40P01: deadlock detected` (and a LOCATION line).
    const verbose = this.parts.location === null ? null : VERBOSE_SQLSTATE.exec(message);
    if (verbose) {
      message = message.slice(7);
      sqlstate ??= verbose[1] ?? null;
    }
    if (stripCursor) message = withoutCursor(message);
    if (sqlstate === '00000') sqlstate = null;
    const query = this.parts.query;
    const context = this.parts.context;
    return {
      at: this.at,
      pid: this.pid,
      severity: this.severity,
      sqlstate,
      message,
      detail: this.parts.detail,
      hint: this.parts.hint,
      // The internal query of a PL/pgSQL error (QUERY:) has no field of its own: it leads the context.
      context: query === null ? context : `QUERY:  ${query}${context === null ? '' : `\n${context}`}`,
      statement: this.parts.statement,
      user: this.user,
      database: this.database,
      application: this.application,
      client: this.client,
      sessionId: this.sessionId,
    };
  }
}

const CURSOR = ' at character ';

/**
 * `syntax error at or near "x" at character 15` → `syntax error at or near "x"`. By hand: a
 * `/ at character \d+$/` regex tried at every position of every message cost a tenth of analyze.
 */
function withoutCursor(message: string): string {
  const end = message.length;
  const last = message.charCodeAt(end - 1);
  if (last < 48 || last > 57) return message;
  const at = message.lastIndexOf(CURSOR);
  if (at < 0) return message;
  for (let i = at + CURSOR.length; i < end; i++) {
    const code = message.charCodeAt(i);
    if (code < 48 || code > 57) return message;
  }
  return message.slice(0, at);
}

/** `%r` prints `host(port)`; csvlog `host:port`; jsonlog host and port apart. Events use `host:port`. */
export function normalizeClient(client: string): string {
  const open = client.lastIndexOf('(');
  if (open > 0 && client.endsWith(')')) return `${client.slice(0, open)}:${client.slice(open + 1, -1)}`;
  return client;
}
