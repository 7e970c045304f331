import pg from 'pg';
import { userError } from '../core/errors.js';
import type { Blocker, RaceSpec } from './race-spec.js';
import { errorResult } from './step-result.js';
import type { StepResult, TextResult, TraceEvent } from './step-result.js';
import { redactUrl } from '../core/url-redaction.js';

export interface EngineOptions {
  /** `deadlock_timeout` of the test sessions. */
  readonly deadlockTimeoutMs?: number;
  /** How long past `deadlock_timeout` to wait after a step blocks, so that the deadlock check of
   *  the earlier waiter has run before the next step: the cycle-closing statement is the victim. */
  readonly deadlockMarginMs?: number;
  /** A step neither finished nor blocked after this long is cancelled (57014). */
  readonly stepTimeoutMs?: number;
  /** The application_name of each connection (`control` for the control connection); the
   *  comparison mode uses the tester's `isolation/<spec>/<session>`, which specs may query. */
  readonly applicationName?: (session: string) => string;
  /** Leave deadlock_timeout as the server and the spec set it (1 s by default), as the isolation
   *  tester does, instead of race's short one: the victim of a deadlock a spec does not choose
   *  is then the tester's (the first waiter, whose check runs first). */
  readonly serverDeadlockTimeout?: boolean;
}

export interface StepToRun {
  readonly name: string;
  readonly sql: string;
  readonly params?: readonly unknown[];
  readonly callSite?: string;
  readonly blockers?: readonly Blocker[];
  /** What is sent, when it differs from `sql` (the overlap barrier). */
  readonly wire?: string;
  readonly rowMode?: 'array';
  /** Rows as the server's text, arrays in column order, with the column names in `fields`
   *  (the isolation tester prints them as they are). */
  readonly asText?: true;
}

/** How long a blocked step waits for its deadlock-check report before it is taken as still. */
const REPORT_FALLBACK_MS = 2000;

/** Advisory lock key space of the overlap barrier ('race' in ASCII), second key a counter. */
const BARRIER_KEY = 0x72616365;

interface Inflight {
  readonly step: StepToRun;
  blockedSince: number | undefined;
  blockedBy: readonly string[];
  /** The poll saw this step wait for another test session at some point. */
  everBlocked: boolean;
  /** What the last poll saw (blockers, settled): a settled block counts once seen twice. */
  lastSeen?: string | undefined;
  /** False while a blocker is still busy (e.g. aborting after its error): a change is coming. */
  settledBlock: boolean;
  /** Per `(step notices N)` annotation: the notice count its session must reach. */
  noticeTargets: readonly { readonly session: EngineSession; readonly count: number }[];
  /** The session's lock checks (`still waiting` reports) when the step started. */
  checksAtStart: number;
  /** Lock waits of this step seen by the poll (a new pg_locks.waitstart is a new wait). */
  waits: number;
  waitStart: string | null | undefined;
  result: StepResult | undefined;
  /** race sent this step a cancel (step timeout, stall): a 57014 is then race's doing. */
  cancelledByRace?: true;
}

/** A test session: its own connection, at most one step in flight. */
export interface EngineSession {
  readonly name: string;
  readonly pid: number;
  /** Program mode: `js` while application code runs between queries. */
  state: 'idle' | 'js' | 'parked' | 'done';
  /** Driven by application code: a finished step hands control back to that code (`js`). */
  programmed: boolean;
  /** This session's deadlock_timeout (a spec's session setup may set its own). */
  deadlockTimeoutMs: number;
  /** The shortest of lock_timeout and statement_timeout a session setup set (0: none): a blocked
   *  step is waited for past it, so that a timeout which can fire always does. */
  timeoutMs: number;
  inflight: Inflight | undefined;
  /** Notices the spec's SQL raised (what a client at the default client_min_messages gets). */
  notices: number;
  /** Those notices as libpq prints them (`NOTICE:  text`, DETAIL/HINT/QUERY lines), not yet
   *  taken by the comparison mode (`takeNotices`). */
  pendingNotices: string[];
  /** NOTIFY messages that reached this session, not yet taken (`takeNotifications`). */
  pendingNotifications: Notification[];
  /** Deadlock checks the server ran for this session's lock waits: with log_lock_waits and
   *  client_min_messages = log, each check that finds no deadlock sends `still waiting`. */
  lockChecks: number;
}

const RESET_SCHEMAS = `DO $$DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'
  LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END$$;
CREATE SCHEMA public;
DO $$BEGIN
  -- As initdb makes it (PostgreSQL 15+): every role may use it, so a spec's SET ROLE still sees its tables.
  GRANT USAGE ON SCHEMA public TO PUBLIC;
  ALTER SCHEMA public OWNER TO pg_database_owner;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN NULL; END$$`;

/**
 * Runs steps on the sessions' connections and decides when the world is still: every step in
 * flight has finished or is blocked, where blocked means `pg_blocking_pids()` (polled from a
 * separate control connection) names another test session — never a guess from elapsed time.
 */
export class ScheduleEngine {
  readonly sessions: readonly EngineSession[];
  readonly #clients: ReadonlyMap<string, pg.Client>;
  readonly #control: pg.Client;
  readonly #deadlockTimeoutMs: number;
  #deadlockWaitMs: number;
  /** A spec set deadlock_timeout per session (the isolation tester's way to pick the victim):
   *  the victim is then theirs to choose, not necessarily the statement closing the cycle. */
  customDeadlockTimeouts = false;
  readonly #stepTimeoutMs: number;
  readonly #serverDeadlockTimeout: boolean;
  /** Lock-wait reports reach the sessions: a blocked step counts as still once the server has
   *  run its deadlock check, whatever the machine's load (not after a guessed margin). */
  #waitSignals = true;
  /** Which session runs each spec step (annotations name steps). */
  #stepSessions = new Map<string, string>();
  #events: TraceEvent[] = [];
  #t0 = performance.now();
  #wake: (() => void) | undefined;

  private constructor(init: {
    sessions: EngineSession[];
    clients: Map<string, pg.Client>;
    control: pg.Client;
    options: EngineOptions;
  }) {
    this.sessions = init.sessions;
    this.#clients = init.clients;
    this.#control = init.control;
    this.#deadlockTimeoutMs = init.options.deadlockTimeoutMs ?? 20;
    this.#deadlockWaitMs = this.#deadlockTimeoutMs + (init.options.deadlockMarginMs ?? 15);
    this.#stepTimeoutMs = init.options.stepTimeoutMs ?? 10_000;
    this.#serverDeadlockTimeout = init.options.serverDeadlockTimeout ?? false;
  }

  static async open(
    url: string,
    sessionNames: readonly string[],
    options: EngineOptions = {},
  ): Promise<ScheduleEngine> {
    const connect = async (applicationName: string): Promise<pg.Client> => {
      const client = new pg.Client({ connectionString: url, application_name: applicationName });
      try {
        await client.connect();
      } catch (cause) {
        throw userError(
          'RACE_CONNECT',
          `could not connect to ${redactUrl(url)}: ${String(cause)}; check the --db URL (host, port, user, password)`,
          cause,
        );
      }
      client.on('error', () => undefined); // a dropped session shows up as the failure of its step
      return client;
    };
    const appName = (session: string): string =>
      (options.applicationName?.(session) ?? `hindsight race ${session}`).slice(0, 63);
    const control = await connect(appName('control'));
    const clients = new Map<string, pg.Client>();
    const sessions: EngineSession[] = [];
    const engine = new ScheduleEngine({ sessions, clients, control, options });
    for (const name of sessionNames) {
      const client = await connect(appName(name));
      const pidRow = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const session: EngineSession = {
        name,
        pid: pidRow.rows[0]?.pid ?? 0,
        state: 'idle',
        programmed: false,
        deadlockTimeoutMs: options.deadlockTimeoutMs ?? 20,
        timeoutMs: 0,
        inflight: undefined,
        notices: 0,
        pendingNotices: [],
        pendingNotifications: [],
        lockChecks: 0,
      };
      client.on('notification', (n) => {
        session.pendingNotifications.push({
          channel: n.channel,
          payload: n.payload ?? '',
          processId: n.processId,
        });
      });
      client.on('notice', (notice) => {
        // The server's own lock-wait reports are a signal to us, not the spec's notices; LOG
        // and DEBUG reach us only because race lowered client_min_messages.
        if (notice.severity === 'LOG') {
          if (notice.routine === 'ProcSleep' && !/ acquired /.test(notice.message ?? ''))
            session.lockChecks++;
        } else if (!/^DEBUG/.test(notice.severity ?? '')) {
          session.notices++;
          session.pendingNotices.push(noticeText(notice));
        }
        engine.#poke();
      });
      clients.set(name, client);
      sessions.push(session);
    }
    return engine;
  }

  /** Waits longer after a step blocks (used when the server is too slow for the default). */
  slowDown(): void {
    this.#deadlockWaitMs *= 2;
  }

  get events(): readonly TraceEvent[] {
    return this.#events;
  }

  session(name: string): EngineSession {
    const s = this.sessions.find((x) => x.name === name);
    if (!s) throw userError('RACE_UNKNOWN_SESSION', `no session named ${name}`);
    return s;
  }

  /** Back to a fresh state: sessions rolled back and reset, schemas dropped, setup run again.
   *  `onSetup` is told each setup block's result (the isolation tester prints rows it returns):
   *  session null for the spec's setup blocks. */
  async reset(
    spec: RaceSpec,
    onSetup?: (session: string | null, result: SetupResult) => void,
    options: { readonly keepSessions?: boolean } = {},
  ): Promise<void> {
    // keepSessions: as the isolation tester between permutations — sessions keep their
    // settings, temporary tables and open transactions, and only the spec's setup runs again
    // (its teardown ran at the end of the last permutation). The first reset is a full one.
    const light = (options.keepSessions ?? false) && this.#resets > 0;
    this.#resets++;
    for (const s of this.sessions) {
      const client = this.#client(s.name);
      s.state = 'idle';
      s.programmed = false;
      s.inflight = undefined;
      s.pendingNotices = [];
      s.pendingNotifications = [];
      s.lockChecks = 0;
      if (light) continue;
      await client.query('ROLLBACK');
      try {
        await client.query(
          `RESET ALL; DISCARD TEMP; DEALLOCATE ALL; SELECT pg_advisory_unlock_all()${this.#serverDeadlockTimeout ? '' : `; SET deadlock_timeout = '${this.#deadlockTimeoutMs}ms'`}`,
        );
      } catch (cause) {
        throw userError(
          'RACE_DEADLOCK_TIMEOUT',
          `could not SET deadlock_timeout for the test sessions (${String(cause)}); connect as a superuser or run GRANT SET ON PARAMETER deadlock_timeout TO <role>`,
          cause,
        );
      }
      s.notices = 0;
      // What race's own commands raised (ROLLBACK's "no transaction in progress") is not the spec's.
      s.pendingNotices = [];
      if (this.#waitSignals) {
        // Without these (a role that may only SET deadlock_timeout) the engine falls back to
        // waiting a fixed margin, which a loaded machine can outrun.
        await client
          .query("SET log_lock_waits = on; SET client_min_messages = log; SET lc_messages = 'C'")
          .catch(() => {
            this.#waitSignals = false;
          });
      }
    }
    if (!light) {
      for (const sql of spec.teardown) await this.#control.query(sql).catch(() => undefined);
      await this.#control.query(RESET_SCHEMAS);
    }
    for (const sql of spec.setup) {
      // Run whether or not anyone listens (an optional call would skip its arguments).
      const result = await this.#runSetup(
        this.#control,
        sql,
        light
          ? 'setup (run again after the teardown of the last permutation, as the isolation tester does)'
          : 'setup',
      );
      onSetup?.(null, result);
    }
    this.customDeadlockTimeouts = false;
    for (const session of spec.sessions) {
      for (const sql of session.setup) {
        const result = await this.#runSetup(
          this.#client(session.name),
          sql,
          `setup of session ${session.name}`,
        );
        onSetup?.(session.name, result);
      }
      const s = this.session(session.name);
      s.deadlockTimeoutMs = this.#deadlockTimeoutMs;
      s.timeoutMs = 0;
      // Kept sessions may have set them in an earlier permutation's steps.
      if (
        light ||
        this.#serverDeadlockTimeout ||
        session.setup.some((sql) => /deadlock_timeout|lock_timeout|statement_timeout/i.test(sql))
      ) {
        // SHOW takes no snapshot (a SELECT would, fixing a REPEATABLE READ or SERIALIZABLE
        // transaction's snapshot before the spec's first step).
        // In a failed transaction (kept from the last permutation) it fails: race's defaults then.
        const shown = await this.#client(session.name)
          .query('SHOW deadlock_timeout; SHOW lock_timeout; SHOW statement_timeout')
          .catch(() => []);
        const results = (Array.isArray(shown) ? shown : []) as pg.QueryResult<Record<string, string>>[];
        const values = new Map<string, number | undefined>(
          ['deadlock_timeout', 'lock_timeout', 'statement_timeout'].map((name, i) => [
            name,
            durationMs(Object.values(results[i]?.rows[0] ?? {})[0] ?? ''),
          ]),
        );
        const ms = (name: string): number =>
          values.get(name) ?? (name === 'deadlock_timeout' ? this.#deadlockTimeoutMs : 0);
        s.deadlockTimeoutMs = ms('deadlock_timeout');
        if (s.deadlockTimeoutMs !== this.#deadlockTimeoutMs) this.customDeadlockTimeouts = true;
        const timeouts = [ms('lock_timeout'), ms('statement_timeout')].filter((t) => t > 0 && t <= 1000);
        s.timeoutMs = timeouts.length > 0 ? Math.min(...timeouts) : 0;
      }
    }
    this.#events = [];
    this.#stepSessions = new Map(
      spec.sessions.flatMap((session) => session.steps.map((step) => [step.name, session.name] as const)),
    );
    this.#t0 = performance.now();
  }

  async #runSetup(client: pg.Client, sql: string, what: string): Promise<SetupResult> {
    try {
      return lastTextResult(await client.query(textQuery(sql)));
    } catch (cause) {
      throw userError(
        'RACE_SETUP_FAILED',
        `the ${what} failed: ${String(cause)}; fix the SQL and run again`,
        cause,
      );
    }
  }

  /** Runs the session teardown blocks (after a schedule), ignoring their errors like the
   *  isolation tester; `onResult` is told what each returned. */
  async teardownSessions(
    spec: RaceSpec,
    onResult?: (session: string, result: SetupResult) => void,
  ): Promise<void> {
    for (const session of spec.sessions) {
      for (const sql of session.teardown) {
        const result = await this.#client(session.name)
          .query(textQuery(sql))
          .then(lastTextResult, () => undefined);
        if (result) onResult?.(session.name, result);
      }
    }
  }

  /** Runs the spec's teardown blocks on the control connection, ignoring their errors like the
   *  isolation tester; `onResult` is told what each returned. */
  async teardown(spec: RaceSpec, onResult?: (result: SetupResult) => void): Promise<void> {
    for (const sql of spec.teardown) {
      const result = await this.#control.query(textQuery(sql)).then(lastTextResult, () => undefined);
      if (result) onResult?.(result);
    }
  }

  /** The notices a session received since last taken, as libpq prints them. */
  takeNotices(sessionName: string): string[] {
    const s = this.session(sessionName);
    const taken = s.pendingNotices;
    s.pendingNotices = [];
    return taken;
  }

  /** The NOTIFY messages that reached a session since last taken. */
  takeNotifications(sessionName: string): Notification[] {
    const s = this.session(sessionName);
    const taken = s.pendingNotifications;
    s.pendingNotifications = [];
    return taken;
  }

  /** The session's step in flight was seen waiting for another session (a lock, a safe
   *  snapshot), whether or not it has its result now. */
  wasBlocked(sessionName: string): boolean {
    return this.session(sessionName).inflight?.everBlocked ?? false;
  }

  /** The result of the session's step in flight, once the server has answered it. */
  stepResult(sessionName: string): StepResult | undefined {
    return this.session(sessionName).inflight?.result;
  }

  /** Ends whatever transaction application code left open (like returning a client to a pool). */
  async rollbackQuietly(sessionName: string): Promise<void> {
    await this.#client(sessionName)
      .query('ROLLBACK')
      .catch(() => undefined);
  }

  /** Sends a step on its session's connection without waiting; the promise never rejects. */
  send(sessionName: string, step: StepToRun): Promise<StepResult> {
    const session = this.session(sessionName);
    if (session.inflight && !session.inflight.result) {
      throw userError(
        'RACE_SESSION_BUSY',
        `step ${step.name} was released while session ${sessionName} still waits in ${session.inflight.step.name}`,
      );
    }
    const inflight: Inflight = {
      step,
      blockedSince: undefined,
      blockedBy: [],
      everBlocked: false,
      settledBlock: false,
      noticeTargets: (step.blockers ?? []).flatMap((b) => {
        if (b.kind !== 'notices') return [];
        const other = this.session(this.#stepSessions.get(b.step) ?? sessionName);
        return [{ session: other, count: other.notices + b.count }];
      }),
      checksAtStart: session.lockChecks,
      waits: 0,
      waitStart: undefined,
      result: undefined,
    };
    session.inflight = inflight;
    this.#record({
      session: sessionName,
      step: step.name,
      sql: step.sql,
      kind: 'start',
      ...(step.callSite ? { callSite: step.callSite } : {}),
    });
    const client = this.#client(sessionName);
    const text = step.wire ?? step.sql;
    if (step.asText) {
      return textResults(client, text).then(
        ({ results, error }) => {
          const last = results.at(-1);
          const base = error
            ? errorResult(error)
            : { ok: true, rows: [], rowCount: null, command: null, ...(last ? { fields: last.fields } : {}) };
          return this.#finish(session, inflight, { ...base, results });
        },
        (error: unknown) => this.#finish(session, inflight, errorResult(error)),
      );
    }
    const query: Promise<
      pg.QueryResult<Record<string, unknown>> | pg.QueryResult<Record<string, unknown>>[]
    > = step.rowMode
      ? // Array rows travel as they are: the app asked for them.
        (client.query({
          text,
          values: step.params ? [...step.params] : [],
          rowMode: step.rowMode,
        }) as unknown as Promise<pg.QueryResult<Record<string, unknown>>>)
      : step.params
        ? client.query(text, [...step.params])
        : client.query(text);
    return query.then(
      (r) => {
        // A multi-statement submission answers with one result per statement: report the last.
        const last = Array.isArray(r) ? r[r.length - 1] : r;
        return this.#finish(session, inflight, {
          ok: true,
          rows: last?.rows ?? [],
          rowCount: last?.rowCount ?? null,
          command: last?.command ?? null,
          ...(step.asText && last ? { fields: last.fields.map((f) => f.name) } : {}),
        });
      },
      (error: unknown) => this.#finish(session, inflight, errorResult(error)),
    );
  }

  #barrier = 0;

  /**
   * Overlap mode: releases several sessions' statements at the same instant. Each waits first on
   * an advisory lock the control connection holds (in the same submission, so in the same
   * transaction), and the lock is released once all wait: the server wakes them together.
   * Statements with parameters cannot share a submission and are just sent together.
   */
  async sendTogether(steps: readonly { session: string; step: StepToRun }[]): Promise<Promise<StepResult>[]> {
    const key = ++this.#barrier;
    await this.#control.query('SELECT pg_advisory_lock($1, $2)', [BARRIER_KEY, key]);
    const results = steps.map(({ session, step }) =>
      this.send(
        session,
        step.params
          ? step
          : { ...step, wire: `SELECT pg_advisory_xact_lock_shared(${BARRIER_KEY}, ${key}); ${step.sql}` },
      ),
    );
    const gated = steps.filter(({ step }) => !step.params).map(({ session }) => this.session(session).pid);
    const controlPid = (await this.#control.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]
      ?.pid;
    const deadline = performance.now() + this.#stepTimeoutMs;
    for (;;) {
      const res = await this.#control.query<{ waiting: boolean }>(
        'SELECT bool_and($2::int = ANY (pg_blocking_pids(pid))) AS waiting FROM unnest($1::int[]) AS pid',
        [gated, controlPid],
      );
      if (res.rows[0]?.waiting !== false || performance.now() > deadline) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await this.#control.query('SELECT pg_advisory_unlock($1, $2)', [BARRIER_KEY, key]);
    return results;
  }

  #finish(session: EngineSession, inflight: Inflight, result: StepResult): StepResult {
    inflight.result = result;
    this.#completions += 1;
    // The world changed (locks may be on their way out): every block is confirmed afresh.
    for (const other of this.sessions) {
      if (!other.inflight || other.inflight.result) continue;
      other.inflight.lastSeen = undefined;
      other.inflight.settledBlock = false;
    }
    // Set before anyone is woken: settle() must see the code as running until it parks again.
    if (session.programmed) session.state = 'js';
    this.#record({
      session: session.name,
      step: inflight.step.name,
      sql: inflight.step.sql,
      kind: result.ok ? 'done' : 'error',
      ...(result.code ? { code: result.code } : {}),
      ...(result.message ? { message: result.message } : {}),
      ...(result.detail ? { detail: result.detail } : {}),
      ...(result.command ? { command: result.command } : {}),
      ...(result.code === '57014' && inflight.cancelledByRace ? { cancelledByRace: true as const } : {}),
    });
    this.#poke();
    return result;
  }

  /** Application code of a session changed state (parked at a query, or finished). */
  poke(): void {
    this.#poke();
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #waitChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = (): void => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      timer = setTimeout(done, Math.max(0, ms));
      const previous = this.#wake;
      this.#wake = () => {
        previous?.();
        done();
      };
    });
  }

  /**
   * A step held by an isolation-tester annotation counts as blocked whatever the locks say:
   * `(*)` until it finishes; once finished, `(step)` while that step is still in progress in its
   * session and `(step notices N)` until that session's notices reach the target.
   */
  #heldByAnnotation(s: EngineSession, inflight: Inflight): boolean {
    if (this.#annotationsOff) return false;
    if (inflight.result === undefined) return (inflight.step.blockers ?? []).some((b) => b.kind === 'any');
    return this.#annotationHolds(inflight, new Set([s.name]));
  }

  #annotationHolds(inflight: Inflight, seen: Set<string>): boolean {
    if (inflight.noticeTargets.some((t) => t.session.notices < t.count)) return true;
    return (inflight.step.blockers ?? []).some((b) => {
      if (b.kind !== 'step') return false;
      const name = this.#stepSessions.get(b.step);
      if (name === undefined || seen.has(name)) return false;
      const other = this.session(name).inflight;
      if (other?.step.name !== b.step) return false;
      return other.result === undefined || this.#annotationHolds(other, new Set([...seen, name]));
    });
  }

  /** The session's step that is not complete yet (running, blocked, or held by an annotation). */
  #unfinished(s: EngineSession): Inflight | undefined {
    const inflight = s.inflight;
    if (!inflight || s.name === this.#except) return undefined;
    if (inflight.result === undefined) return inflight;
    return !this.#annotationsOff && this.#annotationHolds(inflight, new Set([s.name])) ? inflight : undefined;
  }

  /**
   * Waits until every step in flight has finished or is blocked by another test session (and
   * has been blocked for longer than deadlock_timeout), and no application code is running.
   */
  async settle(
    options: { readonly ignoreAnnotations?: boolean; readonly except?: string } = {},
  ): Promise<void> {
    this.#annotationsOff = options.ignoreAnnotations ?? false;
    this.#except = options.except;
    try {
      await this.#settle();
    } finally {
      this.#annotationsOff = false;
      this.#except = undefined;
    }
  }

  #annotationsOff = false;
  /** Resets so far (the first is always a full one). */
  #resets = 0;
  /** A session settle() does not wait for (the isolation tester's `(*)` step, just sent). */
  #except: string | undefined = undefined;

  async #settle(): Promise<void> {
    let deadline = performance.now() + this.#stepTimeoutMs;
    for (;;) {
      const running = this.sessions.filter((s) => this.#unfinished(s));
      const toPoll = running.filter((s) => {
        const f = this.#unfinished(s);
        return f !== undefined && f.result === undefined && !this.#heldByAnnotation(s, f);
      });
      if (toPoll.length > 0) await this.#pollBlocking(toPoll);
      const moving = running.filter((s) => {
        const f = this.#unfinished(s);
        if (!f) return false;
        if (this.#heldByAnnotation(s, f)) return false;
        // Waiting on a blocker that is busy counts as moving.
        return f.blockedSince === undefined || !f.settledBlock;
      });
      const inJs = this.sessions.some((s) => s.state === 'js');
      const now = performance.now();
      if (moving.length === 0 && !inJs) {
        const until = Math.max(-Infinity, ...running.map((s) => this.#stillAfter(s)));
        if (now >= until) return;
        await this.#waitChange(Math.min(until, deadline) - now);
        if (performance.now() > deadline) {
          const late = running.filter((s) => this.#stillAfter(s) > performance.now());
          await this.cancel(late.map((s) => s.pid));
          deadline = performance.now() + this.#stepTimeoutMs;
        }
        continue;
      }
      if (now > deadline) {
        const stuck = moving.filter((s) => s.inflight?.result === undefined);
        if (stuck.length === 0 && inJs) {
          throw userError(
            'RACE_APP_STUCK',
            'session code neither issued a query nor finished within the step timeout; a race session must only await its database client',
          );
        }
        await this.cancel(stuck.map((s) => s.pid));
        deadline = performance.now() + this.#stepTimeoutMs;
        continue;
      }
      if (toPoll.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      else await this.#waitChange(deadline - now);
    }
  }

  /**
   * When a blocked session's step may be taken as still: once the server has run the deadlock
   * check of its current wait (so the next statement, if it closes a cycle, is the victim) and
   * a lock or statement timeout a session setup set has fired. Those are events, awaited as
   * such: a loaded machine makes them late, never skipped. A long deadlock_timeout (a spec
   * saying "not this one") is not waited for; without lock-wait reports, a fixed margin.
   */
  #stillAfter(s: EngineSession): number {
    const f = s.inflight;
    if (f?.blockedSince === undefined || f.result !== undefined) return -Infinity;
    // A timeout that can fire will: wait for the step's result.
    if (s.timeoutMs > 0) return Infinity;
    if (s.deadlockTimeoutMs >= 1000) return f.blockedSince + this.#deadlockWaitMs - this.#deadlockTimeoutMs;
    if (!this.#waitSignals)
      return f.blockedSince + this.#deadlockWaitMs - this.#deadlockTimeoutMs + s.deadlockTimeoutMs;
    if (s.lockChecks - f.checksAtStart >= Math.max(1, f.waits)) return -Infinity;
    // A report taken for an earlier wait (the poll and the report crossed): do not wait forever.
    return f.blockedSince + s.deadlockTimeoutMs + REPORT_FALLBACK_MS;
  }

  /** Steps finished so far: a poll issued before the latest one may show locks since released. */
  #completions = 0;

  async #pollBlocking(sessions: readonly EngineSession[]): Promise<void> {
    const issuedAt = this.#completions;
    // A blocker that is `active` without waiting on a lock is about to change things: a session
    // whose statement failed gets its error before its transaction has released its locks. A
    // parallel query's leader waits on its workers (IPC), and they on locks: pg_blocking_pids()
    // names the leader's blockers then, so a blocker that is itself blocked is settled too.
    const res = await this.#control.query<{
      pid: number;
      blockers: number[];
      settled: boolean;
      wait_start: string | null;
    }>(
      `SELECT w.pid, b.blockers,
              (SELECT max(to_jsonb(l) ->> 'waitstart') FROM pg_locks l WHERE l.pid = w.pid AND NOT l.granted) AS wait_start,
              (SELECT coalesce(bool_and(a.state <> 'active' OR a.wait_event_type = 'Lock' OR cardinality(pg_blocking_pids(a.pid)) > 0), true)
                 FROM pg_stat_activity a WHERE a.pid = ANY (b.blockers)) AS settled
         FROM unnest($1::int[]) AS w(pid),
              LATERAL (SELECT pg_blocking_pids(w.pid) || pg_safe_snapshot_blocking_pids(w.pid) AS blockers) AS b`,
      [sessions.map((s) => s.pid)],
    );
    // A step finished while the poll ran (a COMMIT, say): its blockers may be stale, and a
    // stale block would be taken for a stall. Poll again instead.
    if (this.#completions !== issuedAt) {
      for (const s of sessions) {
        if (!s.inflight) continue;
        s.inflight.settledBlock = false;
        s.inflight.lastSeen = undefined;
      }
      return;
    }
    const byPid = new Map(this.sessions.map((s) => [s.pid, s] as const));
    const now = performance.now();
    for (const row of res.rows) {
      const s = byPid.get(row.pid);
      const f = s?.inflight;
      if (!s || !f || f.result) continue;
      const by = row.blockers.flatMap((pid) => {
        const other = byPid.get(pid);
        return other && other !== s ? [other.name] : [];
      });
      if (by.length > 0) {
        if (f.blockedSince === undefined || by.join() !== f.blockedBy.join()) {
          this.#record({ session: s.name, step: f.step.name, sql: f.step.sql, kind: 'waits', waitsFor: by });
        }
        // Each wait gets one deadlock check; waitstart (PostgreSQL 14+) tells back-to-back waits
        // apart (it is null for a moment after a wait begins: not a new wait).
        const newWait =
          row.wait_start !== null &&
          f.waitStart !== undefined &&
          f.waitStart !== null &&
          row.wait_start !== f.waitStart;
        if (f.blockedSince === undefined || newWait) f.waits++;
        // Settled only when a second poll finds the same: between reading a blocker's locks and
        // its activity it may release them and go idle (an aborted transaction), which one poll
        // would take for a blocker holding them.
        const seen = `${by.join()}|${String(row.settled)}`;
        const confirmed = row.settled && f.blockedSince !== undefined && f.lastSeen === seen;
        f.lastSeen = seen;
        f.blockedSince ??= now;
        f.everBlocked = true;
        f.blockedBy = by;
        f.settledBlock = confirmed;
        f.waitStart = row.wait_start ?? f.waitStart;
      } else {
        f.blockedSince = undefined;
        f.blockedBy = [];
        f.lastSeen = undefined;
        // Not waiting on a test session (or not at all): reports so far belong to past waits.
        f.waits = s.lockChecks - f.checksAtStart;
        f.waitStart = undefined;
      }
    }
  }

  /** The session's step has not completed yet (running, blocked, or held by an annotation). */
  inProgress(sessionName: string): boolean {
    return this.#unfinished(this.session(sessionName)) !== undefined;
  }

  /**
   * Waits until the session's step in flight has completed (its result, and its annotations), as the isolation tester does before
   * it sends that session its next step (a step waiting for a long deadlock_timeout or a lock
   * timeout to resolve it). False when the step timeout passed first: the step is then cancelled.
   */
  async awaitSession(
    sessionName: string,
    options: { readonly ignoreAnnotations?: boolean } = {},
  ): Promise<boolean> {
    const session = this.session(sessionName);
    const deadline = performance.now() + this.#stepTimeoutMs;
    for (;;) {
      if (
        options.ignoreAnnotations ? !session.inflight || session.inflight.result : !this.#unfinished(session)
      )
        return true;
      const left = deadline - performance.now();
      if (left <= 0) {
        await this.cancel([session.pid]);
        return false;
      }
      await this.#waitChange(left);
    }
  }

  /** Sessions whose step is blocked right now, with whom they wait for. */
  blocked(): { session: string; step: string; waitsFor: readonly string[] }[] {
    return this.sessions.flatMap((s) => {
      const f = s.inflight;
      return f && !f.result && f.blockedSince !== undefined
        ? [{ session: s.name, step: f.step.name, waitsFor: f.blockedBy }]
        : [];
    });
  }

  /** Cancels the sessions' statements; their 57014 is then marked as race's own doing. */
  async cancel(pids: readonly number[]): Promise<void> {
    for (const s of this.sessions) {
      if (pids.includes(s.pid) && s.inflight && !s.inflight.result) s.inflight.cancelledByRace = true;
    }
    if (pids.length > 0)
      await this.#control.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
  }

  /** A query on the control connection (invariants, snapshots). */
  control<R extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    return params ? this.#control.query<R>(sql, [...params]) : this.#control.query<R>(sql);
  }

  #client(name: string): pg.Client {
    const client = this.#clients.get(name);
    if (!client) throw userError('RACE_UNKNOWN_SESSION', `no session named ${name}`);
    return client;
  }

  #record(event: Omit<TraceEvent, 'seq' | 'at'>): void {
    this.#events.push({
      seq: this.#events.length + 1,
      at: Math.round(performance.now() - this.#t0),
      ...event,
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#clients.values(), this.#control].map((c) => c.end()));
  }
}

/** What a setup or teardown block returned: column names and the server's text of each value
 *  (none for a block whose last statement returns no rows). */
export interface SetupResult {
  readonly fields: readonly string[] | undefined;
  readonly rows: readonly (readonly (string | null)[])[];
}

/** A query whose rows come back as arrays of the server's text, as the isolation tester prints them. */
function textQuery(text: string): pg.QueryArrayConfig {
  return { text, rowMode: 'array', types: { getTypeParser: () => (value: string) => value } };
}

/**
 * Runs a submission and keeps every row-returning statement's result, in order, also when a
 * later statement fails (node-postgres then rejects with the error alone; the results so far
 * are on its Query object, as the isolation tester's PQgetResult loop would print them).
 */
async function textResults(
  client: pg.Client,
  text: string,
): Promise<{ results: TextResult[]; error: unknown }> {
  const query = new pg.Query(textQuery(text));
  const settled = new Promise<unknown>((resolve) => {
    query.on('end', () => {
      resolve(undefined);
    });
    query.on('error', (error: unknown) => {
      resolve(error ?? new Error('query failed'));
    });
  });
  client.query(query);
  const error = await settled;
  const internal = query as unknown as { _results?: unknown; _result?: unknown };
  const raw = internal._results ?? internal._result;
  const all = (Array.isArray(raw) ? raw : [raw]) as (pg.QueryResult | undefined)[];
  const results = all.flatMap((r) =>
    // Completed statements that return rows (a failed one's partial rows are dropped, like libpq).
    r && r.command && r.fields.length > 0
      ? [{ fields: r.fields.map((f) => f.name), rows: r.rows as (string | null)[][] }]
      : [],
  );
  return { results, error };
}

/** libpq's PQexec keeps the last result of a multi-statement submission; so does this. */
function lastTextResult(r: pg.QueryResult | pg.QueryResult[]): SetupResult {
  const last = Array.isArray(r) ? r[r.length - 1] : r;
  // A statement that returns rows has a row description, even with no rows (a command has none).
  const fields = last && last.fields.length > 0 ? last.fields.map((f) => f.name) : undefined;
  return { fields, rows: (last?.rows ?? []) as (string | null)[][] };
}

/** A notice as libpq prints it at the default verbosity (no CONTEXT: that is for errors). */
function noticeText(notice: {
  readonly severity?: string | undefined;
  readonly message?: string | undefined;
  readonly detail?: string | undefined;
  readonly hint?: string | undefined;
  readonly internalQuery?: string | undefined;
}): string {
  return [
    `${notice.severity ?? 'NOTICE'}:  ${notice.message ?? ''}`,
    ...(notice.detail ? [`DETAIL:  ${notice.detail}`] : []),
    ...(notice.hint ? [`HINT:  ${notice.hint}`] : []),
    ...(notice.internalQuery ? [`QUERY:  ${notice.internalQuery}`] : []),
  ].join('\n');
}

/** A NOTIFY a session received: channel, payload ('' when none) and the sending backend. */
export interface Notification {
  readonly channel: string;
  readonly payload: string;
  readonly processId: number;
}

/** A time setting as SHOW prints it ('10ms', '1s', '2min', '0') in milliseconds. */
export function durationMs(shown: string): number | undefined {
  const m = /^(-?[0-9.]+)\s*(us|ms|s|min|h|d)?$/.exec(shown.trim());
  if (!m) return undefined;
  const unit = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * unit;
}
