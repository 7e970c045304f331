import { interpretLogEvent, type LogSignal } from '../postgres-log/log-signal.js';
import type { LogEvent } from '../core/log-event.js';
import type { LogObservation } from './log-observation.js';
import { inferSqlstate } from './sqlstate-inference.js';

/**
 * Maps a parsed `LogEvent` to what the analyzer counts. What an entry means — deadlock reports,
 * lock waits, timeouts, serialization failures, durations — comes from the shared interpreter
 * (`interpretLogEvent`, the agent's too: one parser, not two); only the housekeeping lines it has
 * no use for (connections, checkpoints, temp files, autovacuum) are read here.
 *
 * Observations are built as object literals with their fields spelled out: an object spread
 * costs microseconds per entry on this hot path.
 */
export function observe(event: LogEvent): LogObservation {
  const signal = interpretLogEvent(event);
  if (signal === null) return event.severity === 'LOG' ? housekeeping(event) : other(event);
  return fromSignal(signal, event);
}

function fromSignal(signal: LogSignal, event: LogEvent): LogObservation {
  switch (signal.kind) {
    case 'deadlock': {
      const statements = new Map<number, string>();
      for (const p of signal.report.processes) if (p.query !== null) statements.set(p.pid, p.query);
      return {
        kind: 'deadlock',
        at: event.at,
        pid: event.pid,
        severity: event.severity,
        user: event.user,
        database: event.database,
        application: event.application,
        report: signal.report,
        statements,
        relation: signal.report.processes.find((p) => p.pid === signal.report.victimPid)?.relation ?? null,
      };
    }
    case 'lock_wait': {
      if (signal.phase !== 'waiting' && signal.phase !== 'acquired' && signal.phase !== 'deadlock_detected')
        return other(event);
      const at = event.at;
      const afterMs = signal.waitedMs ?? 0;
      if (signal.phase === 'waiting') {
        return {
          kind: 'lock-wait-started',
          at,
          pid: signal.pid,
          severity: event.severity,
          user: event.user,
          database: event.database,
          application: event.application,
          mode: signal.mode,
          object: signal.object,
          afterMs,
          holders: signal.holders,
          queue: signal.queue,
          statement: event.statement,
          relation: signal.relation,
        };
      }
      const ending = signal.phase === 'acquired' ? 'acquired' : 'deadlock';
      return {
        kind: 'lock-wait-ended',
        ending,
        at,
        pid: signal.pid,
        severity: event.severity,
        user: event.user,
        database: event.database,
        application: event.application,
        mode: signal.mode,
        object: signal.object,
        afterMs,
        holders: signal.holders,
        queue: signal.queue,
        statement: event.statement,
        relation: signal.relation,
      };
    }
    case 'statement': {
      const counted =
        signal.step === 'statement' || signal.step === 'execute' || signal.step === 'execute fetch from';
      if (signal.durationMs === null || signal.query === null || !counted) return other(event);
      const detail = event.detail;
      return {
        kind: 'duration',
        at: event.at,
        pid: event.pid,
        severity: event.severity,
        user: event.user,
        database: event.database,
        application: event.application,
        durationMs: signal.durationMs,
        statement: signal.query,
        // `Parameters:` (PostgreSQL 18) or `parameters:` (13–17); kept as logged, for the example.
        parameters: detail !== null && detail.startsWith('arameters: ', 1) ? detail.slice(12) : null,
      };
    }
    case 'error':
    case 'lock_timeout':
    case 'statement_timeout':
    case 'idle_in_transaction_timeout':
    case 'transaction_timeout':
    case 'lock_not_available':
    case 'serialization_failure': {
      // The shared interpreter knows the SQLSTATEs it acts on; a few more shapes group errors by class.
      const known = signal.kind === 'error' ? signal.sqlstate : event.sqlstate;
      return {
        kind: 'error',
        at: event.at,
        pid: event.pid,
        severity: event.severity,
        user: event.user,
        database: event.database,
        application: event.application,
        sqlstate: known ?? inferSqlstate(event.message),
        message: event.message,
        statement: event.statement,
      };
    }
  }
}

const other = (event: LogEvent): LogObservation => ({
  kind: 'other',
  at: event.at,
  pid: event.pid,
  severity: event.severity,
  user: event.user,
  database: event.database,
  application: event.application,
});

/** Connections, checkpoints, temp files and autovacuum: reported briefly. */
function housekeeping(event: LogEvent): LogObservation {
  const m = event.message;
  switch (m.charCodeAt(0)) {
    case 99 /* c */:
      if (m.startsWith('connection received'))
        return {
          kind: 'session',
          event: 'connection',
          sessionMs: null,
          at: event.at,
          pid: event.pid,
          severity: event.severity,
          user: event.user,
          database: event.database,
          application: event.application,
        };
      if (m.startsWith('connection authorized')) {
        // %a is not set yet when this is logged ([unknown] or empty): the message names it.
        const named = / application_name=(\S+)/.exec(m)?.[1] ?? null;
        return {
          kind: 'session',
          event: 'authorized',
          sessionMs: null,
          at: event.at,
          pid: event.pid,
          severity: event.severity,
          user: event.user,
          database: event.database,
          application: named ?? event.application,
        };
      }
      if (m.startsWith('checkpoint starting'))
        return {
          kind: 'checkpoint',
          event: 'starting',
          totalMs: null,
          buffers: null,
          at: event.at,
          pid: event.pid,
          severity: event.severity,
          user: event.user,
          database: event.database,
          application: event.application,
        };
      if (m.startsWith('checkpoint complete')) {
        const total = /total=([\d.]+) s/.exec(m);
        const buffers = /wrote (\d+) buffers/.exec(m);
        return {
          kind: 'checkpoint',
          event: 'complete',
          totalMs: total ? Number(total[1]) * 1000 : null,
          buffers: buffers ? Number(buffers[1]) : null,
          at: event.at,
          pid: event.pid,
          severity: event.severity,
          user: event.user,
          database: event.database,
          application: event.application,
        };
      }
      break;
    case 100 /* d */:
      if (m.startsWith('disconnection: session time: ')) {
        const time = /session time: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(m);
        const sessionMs = time
          ? (Number(time[1]) * 3600 + Number(time[2]) * 60 + Number(time[3])) * 1000
          : null;
        return {
          kind: 'session',
          event: 'disconnection',
          sessionMs,
          at: event.at,
          pid: event.pid,
          severity: event.severity,
          user: event.user,
          database: event.database,
          application: event.application,
        };
      }
      break;
    case 116 /* t */:
      if (m.startsWith('temporary file: ')) {
        const size = /size (\d+)/.exec(m);
        return {
          kind: 'temp-file',
          bytes: size ? Number(size[1]) : 0,
          statement: event.statement,
          at: event.at,
          pid: event.pid,
          severity: event.severity,
          user: event.user,
          database: event.database,
          application: event.application,
        };
      }
      break;
    case 97 /* a */: {
      const av = /^automatic (vacuum|analyze) of table "([^"]+)"/.exec(m);
      if (av !== null) {
        const elapsed = /elapsed: ([\d.]+) s/.exec(m);
        return {
          kind: 'autovacuum',
          operation: av[1] === 'vacuum' ? 'vacuum' : 'analyze',
          relation: av[2] ?? '',
          elapsedMs: elapsed ? Number(elapsed[1]) * 1000 : null,
          at: event.at,
          pid: event.pid,
          severity: event.severity,
          user: event.user,
          database: event.database,
          application: event.application,
        };
      }
      break;
    }
    default:
      break;
  }
  return other(event);
}
