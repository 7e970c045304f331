import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { isHindsightError, transientError, userError } from '../../core/errors.js';
import { redactUrl } from '../../core/url-redaction.js';
import type { IncidentStore, StoreRepositories } from '../../core/incident-store.js';
import { advisoryKey } from './advisory-key.js';
import { postgresEvidence, postgresFindings } from './finding-repositories.js';
import { postgresAlerts, postgresIncidents, postgresTimeline } from './incident-repositories.js';
import {
  postgresRuleStates,
  postgresServices,
  postgresTargets,
  postgresTokens,
} from './catalog-repositories.js';
import { postgresEscalations, postgresOutbox, postgresPaging } from './paging-repositories.js';
import { postgresMetrics } from './metrics-repository.js';
import { migrate } from './schema-migrator.js';
import { postgresDeploys, postgresSignals } from './signal-repositories.js';
import type { StoreDatabase } from './store-database.js';

export interface PostgresStoreOptions {
  /** `postgres://…` of the store's own database (never a database Hindsight monitors). */
  readonly url: string;
  /** Pool size (default 10): what one process may hold of the server's connections. */
  readonly maxConnections?: number;
  /** `statement_timeout` of every connection (default 15 s); also bounds waiting for a `transact` lock. */
  readonly statementTimeoutMs?: number;
  /** Shown in `pg_stat_activity` (default `hindsight`). */
  readonly applicationName?: string;
  /** An idle pooled connection failed (e.g. the server restarted); the pool replaces it. */
  readonly onConnectionError?: (error: Error) => void;
  /** Runs after the pool has ended, e.g. to stop the embedded server. */
  readonly onClose?: () => Promise<void>;
}

/** int8 (bigint: our epoch-ms times, count(*)) as a number: times stay far below 2^53. */
type TypeParserArgs = Parameters<typeof pg.types.getTypeParser>;
const typeParsers = {
  getTypeParser: ((oid: TypeParserArgs[0], format?: TypeParserArgs[1]): unknown =>
    oid === pg.types.builtins.INT8
      ? Number
      : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
};

const repositories = (db: Kysely<StoreDatabase>): StoreRepositories => ({
  findings: postgresFindings(db),
  alerts: postgresAlerts(db),
  incidents: postgresIncidents(db),
  timeline: postgresTimeline(db),
  evidence: postgresEvidence(db),
  ruleStates: postgresRuleStates(db),
  services: postgresServices(db),
  targets: postgresTargets(db),
  tokens: postgresTokens(db),
  paging: postgresPaging(db),
  escalations: postgresEscalations(db),
  outbox: postgresOutbox(db),
  signals: postgresSignals(db),
  deploys: postgresDeploys(db),
  metrics: postgresMetrics(db),
});

/**
 * The store on PostgreSQL (Kysely over `pg`): an embedded server by default (embedded-store.ts) or a
 * team's own. Opening migrates the schema under an advisory lock, so replicas may start together.
 * `transact` is one transaction whose first statement takes a transaction-level advisory lock on
 * the lock's name: replicas and overlapping cycles serialize on it, and a crash releases it.
 */
export class PostgresStore implements IncidentStore {
  readonly findings: StoreRepositories['findings'];
  readonly alerts: StoreRepositories['alerts'];
  readonly incidents: StoreRepositories['incidents'];
  readonly timeline: StoreRepositories['timeline'];
  readonly evidence: StoreRepositories['evidence'];
  readonly ruleStates: StoreRepositories['ruleStates'];
  readonly services: StoreRepositories['services'];
  readonly targets: StoreRepositories['targets'];
  readonly tokens: StoreRepositories['tokens'];
  readonly paging: StoreRepositories['paging'];
  readonly escalations: StoreRepositories['escalations'];
  readonly outbox: StoreRepositories['outbox'];
  readonly signals: StoreRepositories['signals'];
  readonly deploys: StoreRepositories['deploys'];
  readonly metrics: StoreRepositories['metrics'];
  readonly #db: Kysely<StoreDatabase>;
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #statementTimeoutMs: number;
  #closed: Promise<void> | undefined;

  private constructor(
    db: Kysely<StoreDatabase>,
    statementTimeoutMs: number,
    onClose: (() => Promise<void>) | undefined,
  ) {
    this.#db = db;
    this.#statementTimeoutMs = statementTimeoutMs;
    this.#onClose = onClose;
    const repos = repositories(db);
    this.findings = repos.findings;
    this.alerts = repos.alerts;
    this.incidents = repos.incidents;
    this.timeline = repos.timeline;
    this.evidence = repos.evidence;
    this.ruleStates = repos.ruleStates;
    this.services = repos.services;
    this.targets = repos.targets;
    this.tokens = repos.tokens;
    this.paging = repos.paging;
    this.escalations = repos.escalations;
    this.outbox = repos.outbox;
    this.signals = repos.signals;
    this.deploys = repos.deploys;
    this.metrics = repos.metrics;
  }

  /** Connects, brings the schema up to date, and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const statementTimeoutMs = options.statementTimeoutMs ?? 15_000;
    const connection = {
      connectionString: options.url,
      application_name: options.applicationName ?? 'hindsight',
      statement_timeout: statementTimeoutMs,
      // A transaction left open by a bug must not hold locks (and advisory locks) for ever.
      idle_in_transaction_session_timeout: 60_000,
      connectionTimeoutMillis: 10_000,
      types: typeParsers,
    };
    const migrator = new pg.Client({ ...connection, statement_timeout: 300_000 });
    try {
      await migrator.connect();
      await migrate(migrator);
    } catch (error) {
      throw unreachable(options.url, error);
    } finally {
      await migrator.end().catch(() => undefined);
    }
    const pool = new pg.Pool({ ...connection, max: options.maxConnections ?? 10, idleTimeoutMillis: 30_000 });
    pool.on('error', (error) => options.onConnectionError?.(error));
    // The pool listens for errors only on idle clients: a server that dies while a client is checked
    // out between statements (a transaction) would emit an error nobody listens to, and crash the
    // process. The statement in flight fails on its own; this keeps the rest alive.
    pool.on('connect', (client) => client.on('error', () => undefined));
    return new PostgresStore(
      new Kysely<StoreDatabase>({ dialect: new PostgresDialect({ pool }) }),
      statementTimeoutMs,
      options.onClose,
    );
  }

  transact<T>(lock: string, work: (tx: StoreRepositories) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${advisoryKey(lock)}::bigint)`
        .execute(trx)
        .catch((error: unknown) => {
          // 57014: statement_timeout ran out while another transaction (here or on a replica) held the lock.
          if ((error as { code?: unknown }).code !== '57014') throw error;
          throw transientError(
            'STORE_LOCK_TIMEOUT',
            `Waited longer than the store's statement_timeout (${this.#statementTimeoutMs} ms) for its lock "${lock}": another cycle or replica holds it; retry later.`,
            error,
          );
        });
      return work(repositories(trx));
    });
  }

  async ping(): Promise<boolean> {
    try {
      await sql`SELECT 1`.execute(this.#db);
      return true;
    } catch {
      return false;
    }
  }

  /** Ends the pool (waiting for queries in flight), then runs `onClose`. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        await this.#db.destroy();
      } finally {
        await this.#onClose?.();
      }
    })();
    return this.#closed;
  }
}

/** The store's server refused us or did not answer: say which (redacted) URL and what to check. */
function unreachable(url: string, cause: unknown): Error {
  if (isHindsightError(cause)) return cause;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  const detail = cause instanceof Error ? cause.message : String(cause);
  // 28xxx: authentication; 3D000: no such database; 42501: may not create the tables — fixing the
  // URL or the role's rights helps, retrying does not.
  if (typeof code === 'string' && (code.startsWith('28') || code === '3D000' || code === '42501')) {
    return userError(
      'STORE_REFUSED',
      `The store at ${redactUrl(url)} refused us: ${detail}. Fix the user, password or database name in --store, ` +
        'and give that role the right to create tables in its database (Hindsight creates and migrates its schema at start).',
      cause,
    );
  }
  return transientError(
    'STORE_UNREACHABLE',
    `Could not open the store at ${redactUrl(url)}: ${detail}. ` +
      'Check that the server is up and the URL is right (or leave --store out to use the embedded store).',
    cause,
  );
}
