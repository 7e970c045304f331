import type pg from 'pg';
import type { StatementStats } from '../../../core/sample.js';
import { isServerRefusal } from './connection-errors.js';
import { jsonStatement, withExtensionSchema, type JsonStatementRow } from './json-statement.js';
import type { SqlFiles } from './sql-files.js';

interface Totals {
  readonly calls: number;
  readonly totalExecMs: number;
  readonly rows: number;
}

/** One pg_stat_statements entry; pg returns int8 as a string, float8 as a number. */
interface EntryRow {
  readonly queryid: string;
  readonly calls: string;
  readonly total_exec_time: number;
  readonly rows: string;
}

/** pg_stat_statements' total_exec_time arrived in 1.8 (PostgreSQL 13). */
const MIN_VERSION = [1, 8] as const;

export type StatementsAvailability =
  /** `resetTime`: 1.9+ (PostgreSQL 14) has pg_stat_statements_info.stats_reset. */
  | { readonly kind: 'available'; readonly schema: string; readonly resetTime: boolean }
  | { readonly kind: 'unavailable'; readonly reason: string };

/**
 * Finds pg_stat_statements in the connected database and checks that it can be read (it must
 * also be in shared_preload_libraries). Never throws for its absence: it is optional.
 */
export async function probeStatements(client: pg.Client, sql: SqlFiles): Promise<StatementsAvailability> {
  const { rows } = await client.query<{ schema: string; version: string }>(sql['statements-probe']);
  const found = rows[0];
  if (!found) return { kind: 'unavailable', reason: 'extension not installed in this database' };
  const [major = 0, minor = 0] = found.version.split('.').map(Number);
  if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
    return {
      kind: 'unavailable',
      reason: `extension version ${found.version} is older than 1.8: ALTER EXTENSION pg_stat_statements UPDATE;`,
    };
  }
  try {
    await client.query(`${withExtensionSchema(sql.statements, found.schema)} LIMIT 1`);
  } catch (error) {
    // A server-side refusal (not preloaded, no privilege) means "unavailable"; a lost connection is not.
    if (!isServerRefusal(error)) throw error;
    return { kind: 'unavailable', reason: error instanceof Error ? error.message : String(error) };
  }
  return { kind: 'available', schema: found.schema, resetTime: major > 1 || minor >= 9 };
}

/**
 * Turns the cumulative pg_stat_statements figures into what changed since the previous read.
 * Query texts are fetched once per new query id (the texts file is not read on every sample).
 * A full `pg_stat_statements_reset()` is seen by its time (1.9+): every entry then counts from
 * 0, also one that ran more often after the reset than before it, which the counters alone
 * cannot tell; a partial reset (one database, one query) falls back to counters that went down.
 */
export class StatementDeltas {
  readonly #schema: string;
  readonly #sql: SqlFiles;
  readonly #normalize: (sql: string) => string;
  readonly #resetTime: boolean;
  #previous: Map<string, Totals> | null = null;
  #previousReset: number | null = null;
  #texts = new Map<string, string>();

  constructor(init: {
    schema: string;
    sql: SqlFiles;
    normalize: (sql: string) => string;
    resetTime?: boolean;
  }) {
    this.#schema = init.schema;
    this.#sql = init.sql;
    this.#normalize = init.normalize;
    this.#resetTime = init.resetTime ?? false;
  }

  /**
   * Changes since the previous call ([] on the first); the server time spent, in ms — the round
   * trips of the reads, an upper bound (network and parsing included: the figures come back as
   * plain rows, which cost the server less than one row built there, see statements.sql).
   */
  async read(client: pg.Client): Promise<{ statements: StatementStats[]; serverMs: number }> {
    const started = performance.now();
    const { rows } = await client.query<EntryRow>({
      name: 'hindsight_statements',
      text: withExtensionSchema(this.#sql.statements, this.#schema),
    });
    // Summed per query id here, not on the server (entries differ by user, database, top level).
    const current = new Map<string, Totals>();
    for (const row of rows) {
      const calls = Number(row.calls);
      const rowCount = Number(row.rows);
      const seen = current.get(row.queryid);
      current.set(
        row.queryid,
        seen === undefined
          ? { calls, totalExecMs: row.total_exec_time, rows: rowCount }
          : {
              calls: seen.calls + calls,
              totalExecMs: seen.totalExecMs + row.total_exec_time,
              rows: seen.rows + rowCount,
            },
      );
    }
    const resetAt = this.#resetTime
      ? ((
          await client.query<{ stats_reset: number | null }>({
            name: 'hindsight_statements_reset',
            text: withExtensionSchema(this.#sql['statements-reset'], this.#schema),
          })
        ).rows[0]?.stats_reset ?? null)
      : null;
    let serverMs = performance.now() - started;
    const reset = this.#previous !== null && resetAt !== this.#previousReset;
    const changed = this.#previous === null ? [] : diff(reset ? new Map() : this.#previous, current);
    this.#previous = current;
    this.#previousReset = resetAt;

    const missing = changed.filter((c) => !this.#texts.has(c.queryId)).map((c) => c.queryId);
    if (missing.length > 0) {
      const texts = await client.query<JsonStatementRow<{ query_id: string; query: string | null }>>({
        name: 'hindsight_statement_texts',
        text: jsonStatement(withExtensionSchema(this.#sql['statement-texts'], this.#schema)),
        values: [missing],
      });
      const textRow = texts.rows[0];
      serverMs += textRow?.server_ms ?? 0;
      for (const t of textRow?.rows ?? []) this.#texts.set(t.query_id, this.#normalize(t.query ?? ''));
    }
    // Keep texts only for ids that still exist, so the cache cannot outgrow pg_stat_statements.max.
    for (const id of this.#texts.keys()) if (!current.has(id)) this.#texts.delete(id);

    const statements = changed.map((c) => ({ ...c, query: this.#texts.get(c.queryId) ?? '' }));
    return { statements, serverMs };
  }
}

/** Entries whose calls went up; a counter that went down was reset or evicted, so it counts from 0. */
export function diff(
  previous: ReadonlyMap<string, Totals>,
  current: ReadonlyMap<string, Totals>,
): Omit<StatementStats, 'query'>[] {
  const changed: Omit<StatementStats, 'query'>[] = [];
  for (const [queryId, now] of current) {
    const before = previous.get(queryId);
    const base =
      before === undefined || now.calls < before.calls ? { calls: 0, totalExecMs: 0, rows: 0 } : before;
    const calls = now.calls - base.calls;
    if (calls <= 0) continue;
    changed.push({
      queryId,
      calls,
      totalExecMs: now.totalExecMs - base.totalExecMs,
      rows: now.rows - base.rows,
    });
  }
  return changed;
}
