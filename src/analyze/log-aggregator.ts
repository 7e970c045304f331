import {
  cappedEntry,
  createState,
  LIMITS,
  maxAt,
  minAt,
  OTHER_KEY,
  type AnalysisState,
  type BlockerStats,
  type MinuteCounts,
  type WaitEnding,
} from './analysis-state.js';
import type {
  DeadlockObserved,
  DurationObserved,
  ErrorObserved,
  LockWaitEnded,
  LockWaitStarted,
  LogObservation,
} from './log-observation.js';
import { detach } from './detached-string.js';
import { addToSketch, createSketch } from './quantile-sketch.js';
import { QueryFingerprints } from './query-fingerprints.js';
import { normalizeErrorMessage, inferSqlstate } from './sqlstate-inference.js';

/**
 * How an observation counts. A worker reading one byte range of a big file sees a little of the
 * file before its range (`context`: it only learns which waits are open and what each pid last
 * ran) and after it (`finish`: it only closes the waits it owns). Each lock wait and each slow
 * statement is so counted exactly once, by the range where it starts, with its ending and its
 * victims. `--since/--until` reuse the same modes.
 */
export type CountMode = 'count' | 'context' | 'finish';

interface HolderSnapshot {
  readonly pid: number;
  readonly statement: string | null;
  readonly application: string | null;
  readonly user: string | null;
  readonly database: string | null;
}

interface OpenWait {
  readonly owned: boolean;
  readonly startAt: number | null;
  readonly mode: string;
  readonly object: string;
  readonly statement: string | null;
  readonly relation: string | null;
  readonly holders: readonly HolderSnapshot[];
}

interface WaitSpan {
  readonly startAt: number;
  readonly endAt: number;
}

interface PidState {
  openWait: OpenWait | null;
  /** Waits since this pid's last statement ended: a statement logged later ran through them. */
  waits: WaitSpan[];
  lastStatement: string | null;
  /** `lastStatement` is still a slice of the reader's text (not yet copied by `compact()`). */
  pinned: boolean;
  application: string | null;
  user: string | null;
  database: string | null;
}

const PID_LIMIT = 50_000;
const WAITS_PER_PID = 16;

/** `transaction 746` → `transaction`; `tuple (0,1) of relation 16385 of database 5` → `tuple of relation 16385 of database 5`. */
export function lockTargetKey(mode: string, object: string, relation: string | null = null): string {
  const target = object
    .replace(/^(transaction|virtual transaction)\s+\S+/, '$1')
    .replace(/^tuple \([^)]*\) of /, 'tuple of ');
  return `${mode} on ${target}${relation === null ? '' : ` (in "${relation}")`}`;
}

const relationOf = (object: string): string | null => /relation (\d+|"[^"]+"|\S+)/.exec(object)?.[1] ?? null;

/** Adds observations, one at a time in log order, into an `AnalysisState`. */
export class LogAggregator {
  readonly state: AnalysisState = createState();
  readonly #pids = new Map<number, PidState>();
  readonly #fingerprints = new QueryFingerprints();
  #lastMinuteKey = Number.NaN;
  #lastMinute: MinuteCounts | null = null;

  observe(observation: LogObservation, mode: CountMode = 'count'): void {
    const counting = mode === 'count';
    // Every entry read is in the files, counted or not (context and lookahead are too).
    if (observation.at !== null) {
      this.state.seenFirstAt = minAt(this.state.seenFirstAt, observation.at);
      this.state.seenLastAt = maxAt(this.state.seenLastAt, observation.at);
    }
    if (counting) this.#countEntry(observation);
    switch (observation.kind) {
      case 'lock-wait-started':
        this.#waitStarted(observation, mode);
        return;
      case 'lock-wait-ended':
        // A deadlock found at the first check is logged only as its ending: it was a wait too.
        if (
          observation.ending === 'deadlock' &&
          observation.pid !== null &&
          !this.#pids.get(observation.pid)?.openWait
        ) {
          this.#waitStarted(observation, mode);
        }
        this.#waitEnded(observation.pid, observation.at, observation.afterMs, observation.ending);
        return;
      case 'deadlock':
        this.#deadlock(observation, mode);
        return;
      case 'error':
        this.#error(observation, mode);
        return;
      case 'duration':
        this.#duration(observation, mode);
        return;
      case 'session':
        if (!counting) return;
        this.#session(observation);
        return;
      case 'checkpoint': {
        if (!counting) return;
        const c = this.state.checkpoints;
        if (observation.event === 'starting') c.started += 1;
        else {
          c.completed += 1;
          if (observation.totalMs !== null) addToSketch(c.durations, observation.totalMs);
          c.buffers += observation.buffers ?? 0;
        }
        return;
      }
      case 'temp-file': {
        if (!counting) return;
        const t = this.state.tempFiles;
        t.count += 1;
        t.bytes += observation.bytes;
        t.maxBytes = Math.max(t.maxBytes, observation.bytes);
        const key = observation.statement === null ? OTHER_KEY : this.#fingerprints.of(observation.statement);
        const group = cappedEntry(
          this.state,
          { name: 'fingerprints', map: t.byFingerprint, limit: LIMITS.fingerprints, other: OTHER_KEY },
          key,
          () => ({ count: 0, bytes: 0 }),
        );
        group.count += 1;
        group.bytes += observation.bytes;
        return;
      }
      case 'autovacuum': {
        if (!counting) return;
        const a = this.state.autovacuum;
        if (observation.operation === 'vacuum') a.vacuums += 1;
        else a.analyzes += 1;
        const group = cappedEntry(
          this.state,
          {
            name: 'autovacuumRelations',
            map: a.byRelation,
            limit: LIMITS.autovacuumRelations,
            other: OTHER_KEY,
          },
          observation.relation,
          () => ({ vacuums: 0, analyzes: 0, elapsedMs: 0 }),
        );
        if (observation.operation === 'vacuum') group.vacuums += 1;
        else group.analyzes += 1;
        group.elapsedMs += observation.elapsedMs ?? 0;
        return;
      }
      case 'other':
        return;
    }
  }

  /**
   * Copies each pid's last statement out of the reader's chunks. Called every few MB rather than
   * on every entry: between calls at most those chunks stay pinned, and the copy is paid once per
   * pid instead of once per statement.
   */
  compact(): void {
    for (const pidState of this.#pids.values()) {
      if (!pidState.pinned) continue;
      if (pidState.lastStatement !== null) pidState.lastStatement = detach(pidState.lastStatement);
      pidState.pinned = false;
    }
  }

  /** Whether a wait this aggregator counted has not ended yet (a range reads on to find its end). */
  hasOpenWaits(): boolean {
    for (const pidState of this.#pids.values()) if (pidState.openWait?.owned === true) return true;
    return false;
  }

  /** Closes what is still open (waits with no ending in the log) and returns the state. */
  finish(): AnalysisState {
    for (const pidState of this.#pids.values()) {
      const wait = pidState.openWait;
      if (wait?.owned === true) this.#recordWait(wait, 'unknown', null);
      pidState.openWait = null;
    }
    return this.state;
  }

  #countEntry(observation: LogObservation): void {
    const s = this.state;
    s.entries += 1;
    s.bySeverity.set(observation.severity, (s.bySeverity.get(observation.severity) ?? 0) + 1);
    const at = observation.at;
    if (at !== null) {
      s.firstAt = minAt(s.firstAt, at);
      s.lastAt = maxAt(s.lastAt, at);
      const minute = this.#minute(at);
      if (minute !== null) minute.entries += 1;
    }
  }

  #minute(at: number | null): MinuteCounts | null {
    if (at === null) return null;
    const key = Math.floor(at / 60_000) * 60_000;
    // Consecutive entries mostly share their minute.
    if (key === this.#lastMinuteKey) return this.#lastMinute;
    const found = this.state.perMinute.get(key);
    if (found !== undefined) {
      this.#lastMinuteKey = key;
      this.#lastMinute = found;
      return found;
    }
    if (this.state.perMinute.size >= LIMITS.minutes) {
      this.state.overflow.set('minutes', (this.state.overflow.get('minutes') ?? 0) + 1);
      return null;
    }
    const created: MinuteCounts = { entries: 0, errors: 0, deadlocks: 0, lockWaits: 0, waitMs: 0, slow: 0 };
    this.state.perMinute.set(key, created);
    this.#lastMinuteKey = key;
    this.#lastMinute = created;
    return created;
  }

  #pid(pid: number | null, observation: LogObservation): PidState | null {
    if (pid === null) return null;
    let found = this.#pids.get(pid);
    if (found === undefined) {
      if (this.#pids.size >= PID_LIMIT) {
        // Forget the pid seen first (Map keeps insertion order): pids are reused only rarely.
        const oldest = this.#pids.keys().next();
        if (oldest.done !== true) this.#pids.delete(oldest.value);
      }
      found = {
        openWait: null,
        waits: [],
        lastStatement: null,
        pinned: false,
        application: null,
        user: null,
        database: null,
      };
      this.#pids.set(pid, found);
    }
    // Kept per pid for as long as the pid lives: copies, not slices of the reader's chunks.
    if (observation.application !== null && observation.application !== found.application)
      found.application = detach(observation.application);
    if (observation.user !== null && observation.user !== found.user) found.user = detach(observation.user);
    if (observation.database !== null && observation.database !== found.database)
      found.database = detach(observation.database);
    return found;
  }

  #waitStarted(o: LockWaitStarted | LockWaitEnded, mode: CountMode): void {
    const pidState = this.#pid(o.pid, o);
    if (pidState === null) return;
    // A new wait while one is open: the log lost the first one's ending.
    if (pidState.openWait?.owned === true) this.#recordWait(pidState.openWait, 'unknown', null);
    const owned = mode === 'count';
    if (o.statement !== null) this.#ran(pidState, o.statement);
    pidState.openWait = {
      owned,
      startAt: o.at === null ? null : o.at - o.afterMs,
      mode: o.mode,
      object: o.object,
      statement: o.statement === null ? null : detach(o.statement),
      relation: o.relation === null ? null : detach(o.relation),
      holders: o.holders.map((pid) => {
        const holder = this.#pids.get(pid);
        return {
          pid,
          statement: holder?.lastStatement == null ? null : detach(holder.lastStatement),
          application: holder?.application ?? null,
          user: holder?.user ?? null,
          database: holder?.database ?? null,
        };
      }),
    };
    if (owned) {
      this.state.lockWaits.started += 1;
      const minute = this.#minute(o.at);
      if (minute !== null) minute.lockWaits += 1;
    }
  }

  /** `afterMs`: the wait's length when the log says it (`acquired … after N ms`), else null. */
  #waitEnded(pid: number | null, endAt: number | null, afterMs: number | null, ending: WaitEnding): void {
    if (pid === null) return;
    const pidState = this.#pids.get(pid);
    const wait = pidState?.openWait;
    if (pidState === undefined || wait === undefined || wait === null) return;
    pidState.openWait = null;
    let waitMs: number | null = afterMs;
    if (waitMs === null && endAt !== null && wait.startAt !== null)
      waitMs = Math.max(0, endAt - wait.startAt);
    if (wait.startAt !== null) {
      const spanEnd = waitMs === null ? (endAt ?? wait.startAt) : wait.startAt + waitMs;
      if (pidState.waits.length >= WAITS_PER_PID) pidState.waits.shift();
      pidState.waits.push({ startAt: wait.startAt, endAt: spanEnd });
    }
    if (wait.owned) this.#recordWait(wait, ending, waitMs);
  }

  #recordWait(wait: OpenWait, ending: WaitEnding, waitMs: number | null): void {
    const lw = this.state.lockWaits;
    lw.endings[ending] += 1;
    const ms = waitMs ?? 0;
    lw.totalMs += ms;
    if (waitMs !== null) addToSketch(lw.durations, waitMs);
    const minute = this.#minute(wait.startAt);
    if (minute !== null) minute.waitMs += ms;
    const target = cappedEntry(
      this.state,
      { name: 'lockTargets', map: lw.byTarget, limit: LIMITS.lockTargets, other: OTHER_KEY },
      lockTargetKey(wait.mode, wait.object, wait.relation),
      (key) => ({ key, waits: 0, waitMs: 0, maxMs: 0 }),
    );
    target.waits += 1;
    target.waitMs += ms;
    target.maxMs = Math.max(target.maxMs, ms);
    const waiterKey = wait.statement === null ? OTHER_KEY : this.#fingerprints.of(wait.statement);
    const waiter = cappedEntry(
      this.state,
      { name: 'fingerprints', map: lw.byWaiterStatement, limit: LIMITS.fingerprints, other: OTHER_KEY },
      waiterKey,
      () => ({ waits: 0, waitMs: 0 }),
    );
    waiter.waits += 1;
    waiter.waitMs += ms;
    for (const holder of wait.holders) {
      const blocker: BlockerStats = cappedEntry(
        this.state,
        { name: 'blockers', map: lw.blockers, limit: LIMITS.blockers, other: -1 },
        holder.pid,
        (pid) => ({
          pid,
          waits: 0,
          waitMs: 0,
          maxMs: 0,
          lastStatement: null,
          application: null,
          user: null,
          database: null,
          firstAt: null,
          lastAt: null,
        }),
      );
      blocker.waits += 1;
      blocker.waitMs += ms;
      blocker.maxMs = Math.max(blocker.maxMs, ms);
      blocker.firstAt = minAt(blocker.firstAt, wait.startAt);
      blocker.lastAt = maxAt(blocker.lastAt, wait.startAt);
      if (holder.statement !== null) blocker.lastStatement = this.#fingerprints.of(holder.statement);
      blocker.application = holder.application ?? blocker.application;
      blocker.user = holder.user ?? blocker.user;
      blocker.database = holder.database ?? blocker.database;
    }
  }

  #deadlock(o: DeadlockObserved, mode: CountMode): void {
    // The victim's wait (if logged) ends here; the ERROR entry that carries the report is the same one.
    this.#waitEnded(o.pid, o.at, null, 'deadlock');
    if (o.pid !== null) this.#forgetWaits(this.#pids.get(o.pid));
    if (mode !== 'count') return;
    const s = this.state;
    s.deadlockCount += 1;
    this.#countError(o, '40P01', 'deadlock detected', o.statements.get(o.pid ?? -1) ?? null);
    const minute = this.#minute(o.at);
    if (minute !== null) minute.deadlocks += 1;
    const queries = o.report.processes.map((p) => {
      const raw = o.statements.get(p.pid) ?? p.query;
      return raw === null ? '(statement not logged)' : this.#fingerprints.of(raw);
    });
    const signature = [...new Set(queries)].sort();
    const key = signature.join('\n\u241e');
    const group = cappedEntry(
      s,
      { name: 'deadlockSignatures', map: s.deadlocks, limit: LIMITS.deadlockSignatures, other: OTHER_KEY },
      key,
      () => ({
        signature,
        count: 0,
        firstAt: null,
        lastAt: null,
        modes: new Set<string>(),
        relations: new Set<string>(),
        databases: new Set<string>(),
        example: JSON.parse(JSON.stringify(o.report)) as DeadlockObserved['report'],
        exampleStatements: new Map([...o.statements].map(([pid, sql]) => [pid, detach(sql)])),
        perMinute: new Map<number, number>(),
      }),
    );
    group.count += 1;
    group.firstAt = minAt(group.firstAt, o.at);
    group.lastAt = maxAt(group.lastAt, o.at);
    for (const p of o.report.processes) {
      group.modes.add(p.waitsForMode);
      const relation = p.relation ?? relationOf(p.waitsForObject);
      if (relation !== null) group.relations.add(relation);
    }
    if (o.relation !== null) group.relations.add(o.relation);
    if (o.report.database !== null) group.databases.add(o.report.database);
    else if (o.database !== null) group.databases.add(o.database);
    if (o.at !== null && group.perMinute.size < LIMITS.minutes) {
      const key2 = Math.floor(o.at / 60_000) * 60_000;
      group.perMinute.set(key2, (group.perMinute.get(key2) ?? 0) + 1);
    }
  }

  #error(o: ErrorObserved, mode: CountMode): void {
    const sqlstate = o.sqlstate ?? inferSqlstate(o.message);
    const pidState = this.#pid(o.pid, o);
    if (pidState?.openWait) {
      const ending: WaitEnding =
        sqlstate === '40P01'
          ? 'deadlock'
          : sqlstate === '55P03'
            ? 'lock-timeout'
            : o.message.includes('statement timeout')
              ? 'statement-timeout'
              : o.message.includes('user request')
                ? 'cancel'
                : 'error';
      this.#waitEnded(o.pid, o.at, null, ending);
    }
    if (pidState !== null) {
      if (o.statement !== null) this.#ran(pidState, o.statement);
      this.#forgetWaits(pidState);
    }
    if (mode === 'count') this.#countError(o, sqlstate, o.message, o.statement);
  }

  /** What `pidState`'s process last ran (a slice until `compact()` copies it). */
  #ran(pidState: PidState, statement: string): void {
    pidState.lastStatement = statement;
    pidState.pinned = true;
  }

  /** A statement ended: the waits before it are no longer its. (Not `splice`: that makes an array per statement.) */
  #forgetWaits(pidState: PidState | undefined): void {
    if (pidState !== undefined && pidState.waits.length > 0) pidState.waits.length = 0;
  }

  #countError(
    o: ErrorObserved | DeadlockObserved,
    code: string | null,
    rawMessage: string,
    statement: string | null,
  ): void {
    const s = this.state;
    const sqlstate = code ?? 'unknown';
    const message = normalizeErrorMessage(rawMessage);
    const cls = sqlstate === 'unknown' ? 'unknown' : sqlstate.slice(0, 2);
    s.errorsByClass.set(cls, (s.errorsByClass.get(cls) ?? 0) + 1);
    const group = cappedEntry(
      s,
      { name: 'errorGroups', map: s.errors, limit: LIMITS.errorGroups, other: OTHER_KEY },
      `${sqlstate}\u241e${message}`,
      () => ({
        sqlstate,
        message: detach(message),
        severity: o.severity,
        count: 0,
        firstAt: null,
        lastAt: null,
        example: null,
      }),
    );
    group.count += 1;
    group.firstAt = minAt(group.firstAt, o.at);
    group.lastAt = maxAt(group.lastAt, o.at);
    if (group.example === null && statement !== null)
      group.example = detach(this.#fingerprints.of(statement));
    const minute = this.#minute(o.at);
    if (minute !== null) minute.errors += 1;
  }

  #duration(o: DurationObserved, mode: CountMode): void {
    const pidState = this.#pid(o.pid, o);
    let lockWaitMs = 0;
    let victim = false;
    if (pidState !== null) {
      this.#ran(pidState, o.statement);
      if (o.at !== null) {
        // Timestamps to the second only (`%t`): widen the statement by that second.
        const start = o.at - o.durationMs - (o.at % 1000 === 0 ? 1000 : 0);
        const spans =
          pidState.openWait?.startAt != null
            ? [...pidState.waits, { startAt: pidState.openWait.startAt, endAt: o.at }]
            : pidState.waits;
        for (const span of spans) {
          const overlap = Math.min(span.endAt, o.at) - Math.max(span.startAt, start);
          if (overlap >= 0 && span.endAt >= start) {
            victim = true;
            lockWaitMs += overlap;
          }
        }
      }
      this.#forgetWaits(pidState);
    }
    if (mode !== 'count') return;
    const s = this.state;
    const fingerprint = this.#fingerprints.of(o.statement);
    // The hot path: look up first, build the capped-entry arguments only for a new fingerprint.
    const group =
      s.slow.get(fingerprint) ??
      cappedEntry(
        s,
        { name: 'fingerprints', map: s.slow, limit: LIMITS.fingerprints, other: OTHER_KEY },
        fingerprint,
        (key) => ({
          fingerprint: key,
          durations: createSketch(),
          victims: 0,
          victimMs: 0,
          lockWaitMs: 0,
          example: detach(o.statement.length > 4_000 ? `${o.statement.slice(0, 4_000)}…` : o.statement),
          exampleParameters: o.parameters === null ? null : detach(o.parameters.slice(0, 4_000)),
        }),
      );
    addToSketch(group.durations, o.durationMs);
    addToSketch(s.slowAll, o.durationMs);
    const minute = this.#minute(o.at);
    if (minute !== null) minute.slow += 1;
    if (victim) {
      const waited = Math.min(lockWaitMs, o.durationMs);
      group.victims += 1;
      group.victimMs += o.durationMs;
      group.lockWaitMs += waited;
      s.slowVictimMs += o.durationMs;
      s.slowLockWaitMs += waited;
    }
  }

  #session(o: LogObservation & { kind: 'session' }): void {
    const sessions = this.state.sessions;
    if (o.event === 'connection') sessions.connections += 1;
    else if (o.event === 'disconnection') {
      sessions.disconnections += 1;
      if (o.sessionMs !== null) addToSketch(sessions.lengths, o.sessionMs);
      if (o.pid !== null) {
        const wait = this.#pids.get(o.pid)?.openWait;
        if (wait?.owned === true) this.#recordWait(wait, 'unknown', null);
        this.#pids.delete(o.pid);
      }
    } else {
      sessions.authorized += 1;
      const bump = (map: Map<string, number>, key: string | null): void => {
        const k = key ?? '(unknown)';
        if (map.has(k) || map.size < LIMITS.sessionKeys) map.set(k, (map.get(k) ?? 0) + 1);
        else map.set(OTHER_KEY, (map.get(OTHER_KEY) ?? 0) + 1);
      };
      bump(sessions.byDatabase, o.database);
      bump(sessions.byUser, o.user);
      bump(sessions.byApplication, o.application);
    }
  }
}
