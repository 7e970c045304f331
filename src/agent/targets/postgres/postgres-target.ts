import { transientError, userError, type HindsightError } from '../../../core/errors.js';
import type { Clock, RelationRef, TargetReader } from '../../../core/ports.js';
import type { Sample } from '../../../core/sample.js';
import { DEFAULT_STATEMENTS_RESOLUTION_MS } from '../../../core/metrics-series.js';
import type { PgEnvironment } from '../../../config/postgres-conninfo.js';
import { classifyError, isServerRefusal, isUnknownHost, type ErrorContext } from './connection-errors.js';
import { openMonitorConnection, type MonitorConnection, type MonitorSettings } from './monitor-connection.js';
import { RelationNames } from './relation-names.js';
import type { JsonStatementRow } from './json-statement.js';
import {
  toCounters,
  toLockWait,
  toSession,
  type CountersStatementRow,
  type LockWaitRow,
  type SessionRow,
} from './sample-statement.js';
import type { ServerSettings } from './server-settings.js';
import { loadSqlFiles, type SqlFiles } from './sql-files.js';
import { probeStatements, StatementDeltas } from './statement-deltas.js';
import { parseTargetUrl, type TargetUrl } from './target-url.js';
import { abortable, abortReason } from './abortable-promise.js';

export interface PostgresTargetOptions {
  /** Display name of the target (never the URL); `host:port/database` when absent. */
  readonly name?: string;
  /** Applied to every query text a sample returns (literals → $n); identity when absent. */
  readonly normalizeQuery?: (sql: string) => string;
  /** Server-side limit of each monitoring statement (default 2000 ms). */
  readonly statementTimeoutMs?: number;
  /** Longest wait for any lock a monitoring statement needs (default 500 ms). */
  readonly lockTimeoutMs?: number;
  /** Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** How often to look again for pg_stat_statements (default 5 min). */
  readonly statementsRecheckMs?: number;
  /**
   * How often to read pg_stat_statements (default 60 s, the statements' interval in the metrics
   * store, core/metrics-series.ts); samples in between carry `[]`. Reading the view at all costs
   * the server ~4 ms at 5,000 entries (bench:metrics), so a read every 10 s could not stay under
   * 5 ms per 10 s; once a minute it is ~1–2 ms per 10 s.
   */
  readonly statementsEveryMs?: number;
  /** `takenAt` comes from here (default Date.now). */
  readonly clock?: Clock;
  /** The `PG*` variables and password file, as config/ read them: fill what the URL leaves out. */
  readonly environment?: PgEnvironment;
}

export interface SamplerCounters {
  readonly samples: number;
  /** Calls that found the previous sample still running and issued no query. */
  readonly skipped: number;
  readonly failures: number;
  readonly connects: number;
}

/**
 * The agent's view of one PostgreSQL: one `pg.Client`, opened lazily and reopened on the next
 * call when lost. It does not pace its own retries: the watch loop (engine/watch-loop.ts) owns the
 * backoff, so there is one schedule of attempts and one place to test it. A sample is two or three short statements (sessions; lock waits only when someone
 * waits; counters), plus pg_stat_statements where present; a sample asked for while one is
 * running does not queue another query.
 */
export class PostgresTarget implements TargetReader {
  readonly name: string;
  readonly #url: TargetUrl;
  readonly #context: ErrorContext;
  readonly #limits: MonitorSettings;
  readonly #normalize: (sql: string) => string;
  readonly #clock: Clock;
  readonly #recheckMs: number;
  readonly #statementsEveryMs: number;
  #statementsReadAt = Number.NEGATIVE_INFINITY;
  #sql: SqlFiles | null = null;
  #names: RelationNames | null = null;
  #connection: MonitorConnection | null = null;
  #connecting: Promise<MonitorConnection> | null = null;
  #deltas: StatementDeltas | null = null;
  #running: Promise<Sample> | null = null;
  #closed = false;
  #counters = { samples: 0, skipped: 0, failures: 0, connects: 0 };

  private constructor(url: TargetUrl, options: PostgresTargetOptions) {
    this.#url = url;
    this.name = options.name ?? url.label;
    this.#context = {
      target: this.name,
      user: url.user,
      database: url.database,
      host: url.host,
      port: url.port,
      address: url.address,
    };
    this.#limits = {
      statementTimeoutMs: options.statementTimeoutMs ?? 2_000,
      lockTimeoutMs: options.lockTimeoutMs ?? 500,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    };
    this.#normalize = options.normalizeQuery ?? ((sql) => sql);
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#recheckMs = options.statementsRecheckMs ?? 300_000;
    this.#statementsEveryMs = options.statementsEveryMs ?? DEFAULT_STATEMENTS_RESOLUTION_MS;
  }

  /** The database it watches (from the URL or the PG* environment). */
  get database(): string {
    return this.#url.database;
  }

  /** No I/O: checks the URL (a user error when malformed); the connection opens on first use. */
  static create(url: string, options: PostgresTargetOptions = {}): PostgresTarget {
    return new PostgresTarget(parseTargetUrl(url, options.environment), options);
  }

  /** `create` then open the connection now, so that a bad password or grant is reported at once. */
  static async connect(url: string, options: PostgresTargetOptions = {}): Promise<PostgresTarget> {
    const target = PostgresTarget.create(url, options);
    try {
      await target.ready();
    } catch (error) {
      await target.close();
      throw error;
    }
    return target;
  }

  /** Opens the connection if needed and returns the server settings. */
  async ready(): Promise<ServerSettings> {
    return (await this.#connect()).settings;
  }

  /** Settings read when the current connection opened; null before the first connection. */
  settings(): ServerSettings | null {
    return this.#connection?.settings ?? null;
  }

  counters(): SamplerCounters {
    return { ...this.#counters };
  }

  /**
   * One sample, or 'skipped' (counted) when the previous one is still running: no second query
   * is sent. Rejects with a classified HindsightError: transient when the server cannot be
   * reached (the next call reconnects; the watch loop paces the calls), user when it never will as
   * configured.
   */
  async trySample(signal?: AbortSignal): Promise<Sample | 'skipped'> {
    if (this.#running) {
      this.#counters.skipped += 1;
      return 'skipped';
    }
    return this.sample(signal);
  }

  /**
   * The TargetReader port: like `trySample`, but a call that overlaps a running sample waits for
   * that sample and shares its result instead of querying again.
   */
  sample(signal?: AbortSignal): Promise<Sample> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    let run = this.#running;
    if (run) {
      this.#counters.skipped += 1;
    } else {
      const started = this.#sample();
      this.#running = run = started;
      const clear = (): void => {
        if (this.#running === started) this.#running = null;
      };
      started.then(clear, clear);
    }
    return abortable(run, signal);
  }

  async relationNames(
    refs: readonly RelationRef[],
    signal?: AbortSignal,
  ): Promise<ReadonlyMap<string, string>> {
    signal?.throwIfAborted();
    const connection = await abortable(this.#connect(), signal);
    const names = this.#names;
    if (!names) throw new Error('relation names asked before the query files were loaded');
    try {
      return await abortable(names.resolve(connection.client, connection.settings.databaseOid, refs), signal);
    } catch (error) {
      throw this.#fail(error);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#connection ?? (await this.#connecting?.catch(() => null)) ?? null;
    this.#connection = null;
    await connection?.client.end().catch(() => undefined);
  }

  async #sample(): Promise<Sample> {
    const takenAt = this.#clock.now();
    const connection = await this.#connect();
    try {
      const { client, queries } = connection;
      const sessions = await client.query<SessionRow>({ name: 'hindsight_sessions', text: queries.sessions });
      // pg_locks is read only when a session waits on a heavyweight lock: usually nobody does.
      const lockWaits = sessions.rows.some((s) => s.wait_event_type === 'Lock')
        ? (
            await client.query<JsonStatementRow<LockWaitRow>>({
              name: 'hindsight_lock_waits',
              text: queries.lockWaits,
              values: [connection.settings.databaseOid],
            })
          ).rows[0]
        : undefined;
      const counters = (
        await client.query<CountersStatementRow>({ name: 'hindsight_counters', text: queries.counters })
      ).rows[0];
      if (!counters) throw new Error('the counters statement returned no row');
      const statements = await this.#statements(connection);
      this.#counters.samples += 1;
      return {
        target: this.name,
        takenAt,
        serverNow: counters.server_now,
        maxConnections: counters.max_connections,
        serverMs:
          (sessions.rows[0]?.server_ms ?? 0) +
          (lockWaits?.server_ms ?? 0) +
          counters.server_ms +
          (statements?.serverMs ?? 0),
        sessions: sessions.rows.map((s) => toSession(s, this.#normalize)),
        lockWaits: (lockWaits?.rows ?? []).map(toLockWait),
        counters: counters.rows.map(toCounters),
        statements: statements?.statements ?? null,
      };
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** pg_stat_statements deltas when available; looks for the extension again now and then. */
  async #statements(
    connection: MonitorConnection,
  ): Promise<{ statements: Sample['statements']; serverMs: number } | null> {
    const now = this.#clock.now();
    if (now - connection.statementsCheckedAt >= this.#recheckMs) {
      const before = connection.statements;
      connection.statements = await probeStatements(connection.client, this.#sqlFiles());
      connection.statementsCheckedAt = now;
      if (before.kind !== connection.statements.kind) this.#deltas = null;
    }
    if (connection.statements.kind === 'unavailable') {
      this.#deltas = null;
      return null;
    }
    // Between reads: nothing new is reported; the next read's deltas cover the whole gap.
    if (this.#deltas !== null && now - this.#statementsReadAt < this.#statementsEveryMs)
      return { statements: [], serverMs: 0 };
    this.#statementsReadAt = now;
    this.#deltas ??= new StatementDeltas({
      schema: connection.statements.schema,
      resetTime: connection.statements.resetTime,
      sql: this.#sqlFiles(),
      normalize: this.#normalize,
    });
    try {
      return await this.#deltas.read(connection.client);
    } catch (error) {
      // Dropped or reset under us: statements are optional, the sample is not lost for them.
      if (!isServerRefusal(error)) throw error;
      connection.statements = {
        kind: 'unavailable',
        reason: error instanceof Error ? error.message : String(error),
      };
      this.#deltas = null;
      return null;
    }
  }

  async #connect(): Promise<MonitorConnection> {
    if (this.#closed) throw transientError('TARGET_CLOSED', `Target ${this.name} is closed.`);
    if (this.#connection && !this.#connection.broken) return this.#connection;
    if (this.#connection) await this.#drop();
    if (this.#connecting) return this.#connecting;
    const attempt = this.#open();
    this.#connecting = attempt;
    try {
      return await attempt;
    } finally {
      this.#connecting = null;
    }
  }

  async #open(): Promise<MonitorConnection> {
    try {
      const sql = await loadSqlFiles();
      this.#sql = sql;
      this.#names ??= new RelationNames(sql);
      const connection = await openMonitorConnection({
        url: this.#url,
        sql,
        limits: this.#limits,
        context: this.#context,
        now: this.#clock.now(),
      });
      if (this.#closed) {
        await connection.client.end().catch(() => undefined);
        throw transientError('TARGET_CLOSED', `Target ${this.name} is closed.`);
      }
      this.#counters.connects += 1;
      this.#connection = connection;
      this.#deltas = null;
      // OIDs may name other relations after a restore or on another server behind the same URL.
      this.#names.clear();
      return connection;
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** Classifies a failure and drops a connection that cannot be trusted (the next call reconnects). */
  #fail(error: unknown): HindsightError {
    let classified = classifyError(error, this.#context);
    // A host that does not resolve before we ever connected is a typo, not an outage; once the
    // target has answered, the same error is a DNS outage and is retried.
    if (this.#counters.connects === 0 && isUnknownHost(classified)) {
      classified = userError(
        'TARGET_HOST_UNKNOWN',
        `The host "${this.#url.host}" of target ${this.name} does not resolve: check the host name in the URL (or PGHOST).`,
        error,
      );
    }
    this.#counters.failures += 1;
    if (classified.code !== 'TARGET_SLOW' && classified.code !== 'TARGET_CLOSED' && this.#connection) {
      this.#connection.broken = true;
    }
    return classified;
  }

  async #drop(): Promise<void> {
    const connection = this.#connection;
    this.#connection = null;
    await connection?.client.end().catch(() => undefined);
  }

  #sqlFiles(): SqlFiles {
    if (!this.#sql) throw new Error('query files not loaded');
    return this.#sql;
  }
}
