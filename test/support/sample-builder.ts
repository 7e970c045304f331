import type { LogEvent } from '../../src/core/log-event.js';
import type { IdSource } from '../../src/core/ports.js';
import type { DatabaseCounters, LockWait, Sample, SessionSnapshot } from '../../src/core/sample.js';

/** Hand-built samples (and log entries) for tests: only what a test names differs from a quiet default. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export const session = (pid: number, over: Partial<SessionSnapshot> = {}): SessionSnapshot => ({
  pid,
  backendType: 'client backend',
  state: 'active',
  user: 'app',
  database: 'shop',
  application: 'web',
  client: '10.0.0.1',
  backendStart: T0 - 3_600_000,
  xactStart: null,
  queryStart: null,
  stateChange: null,
  waitEventType: null,
  waitEvent: null,
  query: `SELECT ${pid}`,
  ...over,
});

export const wait = (pid: number, blockedBy: readonly number[], over: Partial<LockWait> = {}): LockWait => ({
  pid,
  lockType: 'transactionid',
  mode: 'ShareLock',
  relation: null,
  waitStart: null,
  blockedBy,
  ...over,
});

export const sample = (
  takenAt: number,
  parts: { sessions?: SessionSnapshot[]; lockWaits?: LockWait[]; counters?: DatabaseCounters[] } = {},
): Sample => ({
  target: 'primary',
  takenAt,
  serverMs: 0.5,
  sessions: parts.sessions ?? [],
  lockWaits: parts.lockWaits ?? [],
  counters: parts.counters ?? [],
  statements: null,
});

export const counters = (deadlocks: number, database = 'shop'): DatabaseCounters => ({
  database,
  commits: 0,
  rollbacks: 0,
  deadlocks,
  conflicts: 0,
});

export class CountingIds implements IdSource {
  #n = 0;
  next(prefix: string): string {
    this.#n += 1;
    return `${prefix}-${this.#n}`;
  }
}

/** A server-log entry with only what a test names set. */
export const logEvent = (fields: Partial<LogEvent> = {}): LogEvent => ({
  at: null,
  pid: 10,
  severity: 'LOG',
  sqlstate: null,
  message: '',
  detail: null,
  hint: null,
  context: null,
  statement: null,
  user: null,
  database: null,
  application: null,
  client: null,
  sessionId: null,
  ...fields,
});
