import type { DeadlockReport, LogEvent } from '../core/log-event.js';
import { parseDeadlockReport, relationFromContext } from './deadlock-detail.js';

/**
 * What a log entry means for Hindsight, as a typed signal. Pure: the same event always gives the
 * same signal. Message shapes are PostgreSQL 13–18's English ones (`lc_messages` = C/English; see
 * log-locale.ts for the check).
 */
export type LogSignal =
  | DeadlockSignal
  | LockWaitSignal
  | TimeoutSignal
  | LockNotAvailableSignal
  | SerializationFailureSignal
  | StatementSignal
  | ErrorSignal;

export interface DeadlockSignal {
  readonly kind: 'deadlock';
  readonly event: LogEvent;
  readonly report: DeadlockReport;
}

/**
 * `log_lock_waits` (and PostgreSQL 18's `log_lock_failures`): `waiting` is "still waiting",
 * `acquired` ends a wait, `deadlock_detected` and `rearranged` are the deadlock checker's verdicts,
 * `not_obtained` is a NOWAIT or SKIP LOCKED attempt that failed.
 */
export type LockWaitPhase = 'waiting' | 'acquired' | 'deadlock_detected' | 'rearranged' | 'not_obtained';

export interface LockWaitSignal {
  readonly kind: 'lock_wait';
  readonly event: LogEvent;
  readonly phase: LockWaitPhase;
  /** The waiting process (from the message, which always names it). */
  readonly pid: number;
  /** e.g. `ShareLock`. */
  readonly mode: string;
  /** PostgreSQL's text: `transaction 746`, `tuple (0,5) of relation 16385 of database 16384`… */
  readonly object: string;
  readonly waitedMs: number | null;
  /** From the DETAIL `Process(es) holding the lock: …`; empty when the entry has none. */
  readonly holders: readonly number[];
  /** From `Wait queue: …` (which may be empty: `Wait queue: .`). */
  readonly queue: readonly number[];
  /** Relation named by the CONTEXT (`while updating tuple (0,5) in relation "t"`), if any. */
  readonly relation: string | null;
}

export interface TimeoutSignal {
  readonly kind: 'lock_timeout' | 'statement_timeout' | 'idle_in_transaction_timeout' | 'transaction_timeout';
  readonly event: LogEvent;
  readonly statement: string | null;
  readonly relation: string | null;
}

/** `could not obtain lock on row in relation "t"` (NOWAIT, 55P03). */
export interface LockNotAvailableSignal {
  readonly kind: 'lock_not_available';
  readonly event: LogEvent;
  readonly relation: string | null;
  readonly statement: string | null;
}

export interface SerializationFailureSignal {
  readonly kind: 'serialization_failure';
  readonly event: LogEvent;
  /** What follows `could not serialize access due to`: `concurrent update`, `read/write dependencies among transactions`… */
  readonly reason: string;
  readonly statement: string | null;
}

/**
 * A statement logged by `log_min_duration_statement` (with its duration) or `log_statement` (without):
 * `duration: 1.2 ms  execute S_1: SELECT …` with `DETAIL:  Parameters: $1 = '…'`.
 */
export interface StatementSignal {
  readonly kind: 'statement';
  readonly event: LogEvent;
  readonly durationMs: number | null;
  /** The protocol step: simple-query `statement`, or extended-protocol `parse`/`bind`/`execute`. */
  readonly step:
    'statement' | 'parse' | 'bind' | 'execute' | 'execute fetch from' | 'fastpath function call' | null;
  /** Prepared statement (and portal) name for extended-protocol steps, `<unnamed>` included. */
  readonly name: string | null;
  readonly query: string | null;
  // Parameters (`DETAIL:  Parameters: $1 = …`) are read on demand with `parseParameters(event.detail)`:
  // parsing them for every logged statement cost analyze ~10 % of its time for values it never uses.
}

/** Any other ERROR, FATAL or PANIC (unique violations, syntax errors…). */
export interface ErrorSignal {
  readonly kind: 'error';
  readonly event: LogEvent;
  readonly sqlstate: string | null;
}

const LOCK_WAIT =
  /^process (\d+) (still waiting for|acquired|detected deadlock while waiting for|avoided deadlock for|could not obtain) (\S+) on (.+?)(?: by rearranging queue order)?(?: after ([\d.]+) ms)?$/s;
const PHASES: Readonly<Record<string, LockWaitPhase>> = {
  'still waiting for': 'waiting',
  acquired: 'acquired',
  'detected deadlock while waiting for': 'deadlock_detected',
  'avoided deadlock for': 'rearranged',
  'could not obtain': 'not_obtained',
};
/** `Process holding the lock: 12. Wait queue: 34, 56.`; PostgreSQL 18's lock failure writes `12, Wait queue: .`. */
const HOLDERS = /^Process(?:es)? holding the lock: ([\d, ]*)[.,] Wait queue: ([\d, ]*)\.?$/m;
/** Protocol steps as PostgreSQL logs them; `execute fetch from` before `execute`, which it starts with. */
const STEPS = [
  'statement',
  'execute fetch from',
  'execute',
  'parse',
  'bind',
  'fastpath function call',
] as const;
const PARAMETERS =
  /^(?:[Pp]arameters|unnamed portal with parameters|portal "[^"]*" with parameters): (.*)$/ms;
const PARAMETER = /\$(\d+) = (?:'((?:[^']|'')*)'|NULL)/g;
const NOT_OBTAINED = /^could not obtain lock on (?:row in )?relation "((?:[^"]|"")+)"/;
const SERIALIZATION = /^could not serialize access due to (.+)$/s;

/** English message shapes of the SQLSTATEs Hindsight cares about (to infer them without `%e`). */
const SHAPES: readonly (readonly [RegExp, string])[] = [
  [/^deadlock detected$/, '40P01'],
  [/^canceling statement due to lock timeout$/, '55P03'],
  [/^could not obtain lock on /, '55P03'],
  [/^canceling statement due to statement timeout$/, '57014'],
  [/^canceling statement due to user request$/, '57014'],
  [/^could not serialize access due to /, '40001'],
  [/^terminating connection due to idle-in-transaction timeout$/, '25P03'],
  [/^terminating connection due to idle[- ]session timeout$/, '57P05'],
  [/^terminating connection due to transaction timeout$/, '25P04'],
  [/^duplicate key value violates unique constraint /, '23505'],
  [/^syntax error at /, '42601'],
  [/^column .* does not exist$/, '42703'],
  [/^relation .* does not exist$/, '42P01'],
];

/** SQLSTATEs whose English message Hindsight knows: a different message means another language. */
export const KNOWN_SQLSTATES: ReadonlySet<string> = new Set(['40P01', '55P03', '57014', '40001', '23505']);

/** The SQLSTATE the entry carries (csvlog, jsonlog, `%e`), or the one its English message implies. */
export function sqlstateOf(event: LogEvent): string | null {
  if (event.sqlstate !== null) return event.sqlstate;
  if (!isErrorSeverity(event.severity)) return null;
  for (const [shape, code] of SHAPES) if (shape.test(event.message)) return code;
  return null;
}

/** True when the message has the English shape PostgreSQL uses for this SQLSTATE. */
export function hasEnglishShape(sqlstate: string, message: string): boolean {
  return SHAPES.some(([shape, code]) => code === sqlstate && shape.test(message));
}

function isErrorSeverity(severity: string): boolean {
  return severity === 'ERROR' || severity === 'FATAL' || severity === 'PANIC';
}

/** Reads one event; null for entries Hindsight has no use for (checkpoints, connections…). */
export function interpretLogEvent(event: LogEvent): LogSignal | null {
  const message = event.message;
  if (event.severity === 'LOG') {
    if (message.startsWith('process ')) return lockWait(event);
    if (message.startsWith('duration: ')) return duration(event);
    return loggedStatement(event);
    return null;
  }
  if (!isErrorSeverity(event.severity)) return null;
  const sqlstate = sqlstateOf(event);
  const relation = relationFromContext(event.context);
  switch (sqlstate) {
    case '40P01':
      return { kind: 'deadlock', event, report: parseDeadlockReport(event) };
    case '55P03': {
      if (message === 'canceling statement due to lock timeout') {
        return { kind: 'lock_timeout', event, statement: event.statement, relation };
      }
      const named = NOT_OBTAINED.exec(message)?.[1]?.replaceAll('""', '"') ?? null;
      return { kind: 'lock_not_available', event, relation: named ?? relation, statement: event.statement };
    }
    case '57014':
      if (message === 'canceling statement due to statement timeout') {
        return { kind: 'statement_timeout', event, statement: event.statement, relation };
      }
      break;
    case '25P03':
      return { kind: 'idle_in_transaction_timeout', event, statement: event.statement, relation };
    case '25P04':
      return { kind: 'transaction_timeout', event, statement: event.statement, relation };
    case '40001':
    case '40P02': {
      const reason = SERIALIZATION.exec(message)?.[1] ?? message;
      return { kind: 'serialization_failure', event, reason, statement: event.statement };
    }
    default:
      break;
  }
  return { kind: 'error', event, sqlstate };
}

function lockWait(event: LogEvent): LockWaitSignal | null {
  const match = LOCK_WAIT.exec(event.message);
  if (match === null) return null;
  const holders = HOLDERS.exec(event.detail ?? '');
  return {
    kind: 'lock_wait',
    event,
    phase: PHASES[match[2] ?? ''] ?? 'waiting',
    pid: Number(match[1]),
    mode: match[3] ?? '',
    object: match[4] ?? '',
    waitedMs: match[5] === undefined ? null : Number(match[5]),
    holders: pidList(holders?.[1]),
    queue: pidList(holders?.[2]),
    relation: relationFromContext(event.context),
  };
}

/**
 * `duration: 1.234 ms` and what may follow (`  execute S_1: SELECT …`). Read by hand rather than
 * with a regex: this runs for every logged statement, and a match array with four strings per
 * line was a tenth of what analyze allocated.
 */
function duration(event: LogEvent): StatementSignal | null {
  const message = event.message;
  const start = 'duration: '.length;
  let at = start;
  let whole = 0;
  let scale = 1;
  let dot = false;
  for (; at < message.length; at++) {
    const code = message.charCodeAt(at);
    if (code === 46 /* . */ && !dot) dot = true;
    else if (code >= 48 && code <= 57) {
      whole = whole * 10 + (code - 48);
      if (dot) scale *= 10;
    } else break;
  }
  if (at === start || !message.startsWith(' ms', at)) return null;
  // One division of exact integers: the same double as Number('1.234'); long digit runs go to Number.
  const durationMs = at - start > 15 ? Number(message.slice(start, at)) : whole / scale;
  at += 3;
  if (at === message.length) return statement(event, durationMs, null, null, null);
  if (!message.startsWith('  ', at)) return null;
  return loggedStatement(event, durationMs, at + 2);
}

/**
 * `execute S_1: SELECT …` (log_statement, or after a duration at `from`): the step, the prepared
 * statement's name (up to the first `:`), and the query after `: `.
 */
function loggedStatement(
  event: LogEvent,
  durationMs: number | null = null,
  from = 0,
): StatementSignal | null {
  const message = event.message;
  // As the regex alternation would: `execute fetch from…` that does not read on is tried as `execute`.
  for (const step of STEPS) {
    if (!message.startsWith(step, from)) continue;
    let at = from + step.length;
    let name: string | null = null;
    if (message.charCodeAt(at) === 32 /* space */) {
      let end = at + 1;
      while (end < message.length) {
        const code = message.charCodeAt(end);
        if (code === 58 /* : */ || code === 10 /* \n */) break;
        end++;
      }
      name = message.slice(at + 1, end);
      at = end;
    }
    if (message.startsWith(': ', at)) return statement(event, durationMs, step, name, message.slice(at + 2));
  }
  return null;
}

function statement(
  event: LogEvent,
  durationMs: number | null,
  step: StatementSignal['step'],
  name: string | null,
  query: string | null,
): StatementSignal {
  return { kind: 'statement', event, durationMs, step, name, query };
}

/** `$1 = '1', $2 = 'it''s', $3 = NULL` → `['1', "it's", null]` (by number, so gaps stay null). */
export function parseParameters(detail: string | null): (string | null)[] {
  if (detail === null) return [];
  const list = PARAMETERS.exec(detail)?.[1];
  if (list === undefined) return [];
  const values: (string | null)[] = [];
  for (const match of list.matchAll(PARAMETER)) {
    const index = Number(match[1]) - 1;
    if (index < 0 || index > 65_535) continue;
    while (values.length < index) values.push(null);
    values[index] = match[2] === undefined ? null : match[2].replaceAll("''", "'");
  }
  return values;
}

function pidList(text: string | undefined): number[] {
  if (text === undefined) return [];
  const pids: number[] = [];
  for (const part of text.split(',')) {
    const trimmed = part.trim();
    if (trimmed !== '') pids.push(Number(trimmed));
  }
  return pids;
}
