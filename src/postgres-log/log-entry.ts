import type { LogEvent } from '../core/log-event.js';

/** The parts of an entry a continuation can extend. */
export type EntryPart = 'message' | 'detail' | 'hint' | 'context' | 'statement' | 'query' | 'location';

const VERBOSE_SQLSTATE = /^([0-9A-Z]{5}): /;

/**
 * An entry being assembled from its lines (stderr) or columns (csvlog, jsonlog), with a size cap:
 * once `maxLength` characters are held, further text is dropped and the entry counts as truncated.
 *
 * `finish()` hands the entry itself on as the `LogEvent`: its own fields are exactly the event's
 * (the bookkeeping is private), so no second object is made per entry — analyze reads millions.
 */
export class LogEntry implements LogEvent {
  at: number | null = null;
  pid: number | null = null;
  severity = '';
  sqlstate: string | null = null;
  message = '';
  detail: string | null = null;
  hint: string | null = null;
  context: string | null = null;
  statement: string | null = null;
  user: string | null = null;
  database: string | null = null;
  application: string | null = null;
  client: string | null = null;
  sessionId: string | null = null;
  /** The internal query of a PL/pgSQL error (QUERY:); it leads the context in the event. */
  #query: string | null = null;
  /** `LOCATION:` (log_error_verbosity = verbose): only its presence matters. */
  #location: string | null = null;
  #hasMessage = false;
  /** The part a tab-continued line extends. */
  #current: EntryPart = 'message';
  #length = 0;
  #truncated = false;
  #full = false;
  readonly #maxLength: number;

  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  /** Some of its text was cut: at the entry cap, or one of its lines was over the line cap. */
  get truncated(): boolean {
    return this.#truncated;
  }

  markTruncated(): void {
    this.#truncated = true;
  }

  /** Characters held. */
  get length(): number {
    return this.#length;
  }

  /** Sets a part (a DETAIL line after a DETAIL line extends it on a new line). */
  set(part: EntryPart, text: string): void {
    const previous = this.#get(part);
    this.#current = part;
    this.#put(part, previous === null ? text : `${previous}\n${text}`, text.length);
  }

  /** Extends the current part with a tab-continued line. */
  continueWith(text: string): void {
    const previous = this.#get(this.#current);
    this.#put(this.#current, previous === null ? text : `${previous}\n${text}`, text.length + 1);
  }

  #get(part: EntryPart): string | null {
    switch (part) {
      case 'message':
        return this.#hasMessage ? this.message : null;
      case 'detail':
        return this.detail;
      case 'hint':
        return this.hint;
      case 'context':
        return this.context;
      case 'statement':
        return this.statement;
      case 'query':
        return this.#query;
      case 'location':
        return this.#location;
    }
  }

  #assign(part: EntryPart, value: string): void {
    switch (part) {
      case 'message':
        this.message = value;
        this.#hasMessage = true;
        return;
      case 'detail':
        this.detail = value;
        return;
      case 'hint':
        this.hint = value;
        return;
      case 'context':
        this.context = value;
        return;
      case 'statement':
        this.statement = value;
        return;
      case 'query':
        this.#query = value;
        return;
      case 'location':
        this.#location = value;
        return;
    }
  }

  #put(part: EntryPart, value: string, added: number): void {
    if (this.#full) return;
    if (this.#length + added > this.#maxLength) {
      this.#truncated = true;
      this.#full = true;
      const room = this.#maxLength - this.#length;
      if (room <= 0) return;
      this.#assign(part, value.slice(0, value.length - added + room));
      this.#length = this.#maxLength;
      return;
    }
    this.#assign(part, value);
    this.#length += added;
  }

  /** Sets the columns of a csvlog or jsonlog record at once (empty ones are null). */
  setColumns(columns: {
    readonly message: string;
    readonly detail: string | null;
    readonly hint: string | null;
    readonly query: string | null;
    readonly context: string | null;
    readonly statement: string | null;
  }): void {
    this.message = columns.message;
    this.#hasMessage = true;
    this.detail = columns.detail;
    this.hint = columns.hint;
    this.#query = columns.query;
    this.context = columns.context;
    this.statement = columns.statement;
  }

  /** The finished event. `stripCursor`: the stderr format appends ` at character N` to messages. */
  finish(stripCursor: boolean): LogEvent {
    let message = this.message;
    // log_error_verbosity = verbose writes `ERROR:  40P01: deadlock detected` (and a LOCATION line).
    const verbose = this.#location === null ? null : VERBOSE_SQLSTATE.exec(message);
    if (verbose) {
      message = message.slice(7);
      this.sqlstate ??= verbose[1] ?? null;
    }
    if (stripCursor) message = withoutCursor(message);
    this.message = message;
    if (this.sqlstate === '00000') this.sqlstate = null;
    const query = this.#query;
    // The internal query of a PL/pgSQL error (QUERY:) has no field of its own: it leads the context.
    if (query !== null) this.context = `QUERY:  ${query}${this.context === null ? '' : `\n${this.context}`}`;
    return this;
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
