import type { DeadlockProcess, LogEvent } from '../core/log-event.js';
import type { LogObservation } from './log-observation.js';

/**
 * Maps a parsed `LogEvent` to what the analyzer counts. Hot path (one call per entry): it looks
 * at the severity and the first characters of the message before any regular expression runs.
 * Messages are PostgreSQL's English ones (`lc_messages = C`); with another language they are
 * counted by severity only, which the input summary reports.
 */
export function observe(event: LogEvent): LogObservation {
  const severity = event.severity;
  if (severity === 'LOG') return observeLog(event);
  if (severity === 'ERROR' || severity === 'FATAL' || severity === 'PANIC') {
    if (event.message === 'deadlock detected' && event.detail !== null) {
      const parsed = parseDeadlockDetail(event.detail);
      if (parsed.processes.length > 0) {
        if (event.pid !== null && event.statement !== null && !parsed.statements.has(event.pid)) parsed.statements.set(event.pid, event.statement);
        return {
          kind: 'deadlock',
          at: event.at,
          pid: event.pid,
          severity: event.severity,
          user: event.user,
          database: event.database,
          application: event.application,
          report: {
            at: event.at,
            victimPid: event.pid,
            processes: parsed.processes.map((p) => ({ pid: p.pid, waitsForMode: p.waitsForMode, waitsForObject: p.waitsForObject, relation: p.relation, blockedBy: p.blockedBy, query: parsed.statements.get(p.pid) ?? null })),
            database: event.database,
          },
          statements: parsed.statements,
          relation: event.context === null ? null : (CONTEXT_RELATION.exec(event.context)?.[1] ?? null),
        };
      }
    }
    return { kind: 'error', at: event.at, pid: event.pid, severity: event.severity, user: event.user, database: event.database, application: event.application, sqlstate: event.sqlstate, message: event.message, statement: event.statement };
  }
  return other(event);
}

/**
 * Observations are built as object literals with their fields spelled out: an object spread
 * (`{ ...base, kind }`) costs microseconds per entry on this hot path.
 */
const other = (event: LogEvent): LogObservation => ({ kind: 'other', at: event.at, pid: event.pid, severity: event.severity, user: event.user, database: event.database, application: event.application });

const WAIT = /^process (\d+) (still waiting for|acquired|detected deadlock while waiting for) (\S+) on (.+) after ([\d.]+) ms/;
const CONTEXT_RELATION = / relation "([^"]+)"/;
const HOLDERS = /^Process(?:es)? holding the lock: ([\d, ]*)[.,] Wait queue: ([\d, ]*)\./;
const pids = (list: string | undefined): number[] =>
  (list ?? '')
    .split(',')
    .map((p) => Number.parseInt(p, 10))
    .filter((p) => Number.isFinite(p));

function observeLog(event: LogEvent): LogObservation {
  const m = event.message;
  const first = m.charCodeAt(0);
  if (first === 100 /* d */ && m.startsWith('duration: ')) {
    const space = m.indexOf(' ms', 10);
    const durationMs = Number(m.slice(10, space));
    const rest = space < 0 ? '' : m.slice(space + 5);
    let statement: string | null = null;
    if (rest.startsWith('statement: ')) statement = rest.slice(11);
    else if (rest.startsWith('execute ')) {
      const colon = rest.indexOf(': ');
      statement = colon < 0 ? null : rest.slice(colon + 2);
    }
    if (statement === null || !Number.isFinite(durationMs)) return other(event);
    return { kind: 'duration', at: event.at, pid: event.pid, severity: event.severity, user: event.user, database: event.database, application: event.application, durationMs, statement, parameters: event.detail?.startsWith('Parameters: ') === true ? event.detail.slice(12) : null };
  }
  if (first === 112 /* p */ && m.startsWith('process ')) {
    const wait = WAIT.exec(m);
    if (wait !== null) {
      const verb = wait[2];
      const mode = wait[3] ?? '';
      const object = wait[4] ?? '';
      const afterMs = Number(wait[5]);
      const holders = event.detail === null ? null : HOLDERS.exec(event.detail);
      const relation = event.context === null ? null : (CONTEXT_RELATION.exec(event.context)?.[1] ?? null);
      const holderPids = pids(holders?.[1]);
      const queue = pids(holders?.[2]);
      const statement = event.statement;
      if (verb === 'still waiting for') return { kind: 'lock-wait-started', at: event.at, pid: event.pid, severity: event.severity, user: event.user, database: event.database, application: event.application, mode, object, afterMs, holders: holderPids, queue, statement, relation };
      return { kind: 'lock-wait-ended', at: event.at, pid: event.pid, severity: event.severity, user: event.user, database: event.database, application: event.application, ending: verb === 'acquired' ? 'acquired' : 'deadlock', mode, object, afterMs, holders: holderPids, queue, statement, relation };
    }
    return other(event);
  }
  if (first === 99 /* c */) {
    if (m.startsWith('connection received')) return session(event, 'connection', null);
    if (m.startsWith('connection authorized')) return session(event, 'authorized', null);
    if (m.startsWith('checkpoint starting')) return { kind: 'checkpoint', at: event.at, pid: event.pid, severity: event.severity, user: event.user, database: event.database, application: event.application, event: 'starting', totalMs: null, buffers: null };
    if (m.startsWith('checkpoint complete')) {
      const total = /total=([\d.]+) s/.exec(m);
      const buffers = /wrote (\d+) buffers/.exec(m);
      return { kind: 'checkpoint', at: event.at, pid: event.pid, severity: event.severity, user: event.user, database: event.database, application: event.application, event: 'complete', totalMs: total ? Number(total[1]) * 1000 : null, buffers: buffers ? Number(buffers[1]) : null };
    }
  }
  if (first === 100 /* d */ && m.startsWith('disconnection: session time: ')) {
    const time = /session time: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(m);
    return session(event, 'disconnection', time ? (Number(time[1]) * 3600 + Number(time[2]) * 60 + Number(time[3])) * 1000 : null);
  }
  if (first === 116 /* t */ && m.startsWith('temporary file: ')) {
    const size = /size (\d+)/.exec(m);
    return { kind: 'temp-file', at: event.at, pid: event.pid, severity: event.severity, user: event.user, database: event.database, application: event.application, bytes: size ? Number(size[1]) : 0, statement: event.statement };
  }
  if (first === 97 /* a */ && m.startsWith('automatic ')) {
    const av = /^automatic (vacuum|analyze) of table "([^"]+)"/.exec(m);
    if (av !== null) {
      const elapsed = /elapsed: ([\d.]+) s/.exec(m);
      return { kind: 'autovacuum', at: event.at, pid: event.pid, severity: event.severity, user: event.user, database: event.database, application: event.application, operation: av[1] === 'vacuum' ? 'vacuum' : 'analyze', relation: av[2] ?? '', elapsedMs: elapsed ? Number(elapsed[1]) * 1000 : null };
    }
  }
  return other(event);
}

function session(event: LogEvent, kind: 'connection' | 'authorized' | 'disconnection', sessionMs: number | null): LogObservation {
  return { kind: 'session', at: event.at, pid: event.pid, severity: event.severity, user: event.user, database: event.database, application: event.application, event: kind, sessionMs };
}

const WAITS_FOR = /^Process (\d+) waits for (\S+) on (.+); blocked by process (\d+)\.$/;
const STATEMENT_OF = /^Process (\d+): (.*)$/;

/** The DETAIL of `deadlock detected`: who waits for what, then each process's statement (may span lines). */
export function parseDeadlockDetail(detail: string): { processes: Omit<DeadlockProcess, 'query'>[]; statements: Map<number, string> } {
  const processes: Omit<DeadlockProcess, 'query'>[] = [];
  const statements = new Map<number, string>();
  let current: number | null = null;
  for (const line of detail.split('\n')) {
    const waits = WAITS_FOR.exec(line);
    if (waits !== null) {
      const object = waits[3] ?? '';
      const relation = /relation (\d+)/.exec(object)?.[1] ?? null;
      processes.push({ pid: Number(waits[1]), waitsForMode: waits[2] ?? '', waitsForObject: object, relation, blockedBy: Number(waits[4]) });
      current = null;
      continue;
    }
    const statement = STATEMENT_OF.exec(line);
    if (statement !== null && processes.some((p) => p.pid === Number(statement[1]))) {
      current = Number(statement[1]);
      statements.set(current, statement[2] ?? '');
      continue;
    }
    if (current !== null) statements.set(current, `${statements.get(current) ?? ''}\n${line}`);
  }
  return { processes, statements };
}
