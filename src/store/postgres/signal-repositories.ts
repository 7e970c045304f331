import { sql, type Kysely, type QueryCreator, type Selectable } from 'kysely';
import {
  MAX_ROLLUP_CAUSES,
  MAX_ROLLUP_SAMPLES,
  MAX_ROLLUP_USERS,
  type Deploy,
  type FailureCause,
  type FailureSample,
  type RouteRollup,
} from '../../core/app-signal.js';
import { mergeRollupList } from '../../core/app-signal-rollup.js';
import {
  DEFAULT_ROLLUP_LIMIT,
  MAX_ROLLUP_LIMIT,
  type DeployRepository,
  type SignalRepository,
} from '../../core/incident-store.js';
import { listLimit } from '../list-limit.js';
import type { AppRollupsTable, DeploysTable, StoreDatabase } from './store-database.js';
import { conflictOn } from './unique-violation.js';

/** 14 parameters a row: far below PostgreSQL's 65,535 per statement. */
const MERGE_BATCH = 2_000;

const rollupRow = (r: RouteRollup) => ({
  service: r.service,
  method: r.method,
  route: r.route,
  bucket: r.bucket,
  requests: r.requests,
  failures: r.failures,
  duration_ms_sum: r.durationMsSum,
  duration_ms_max: r.durationMsMax,
  users: [],
  failed_users: [],
  users_truncated: r.usersTruncated,
  causes: JSON.stringify(r.causes),
  samples: JSON.stringify(r.samples),
  releases: [...r.releases],
});

/**
 * The id sets of some rollups as columns of one row per (key, failed) that has any, their ids in
 * one flat array sliced by [lo:hi] (a statement's arrays must be rectangular).
 */
function userColumns(rollups: readonly RouteRollup[]) {
  const columns = {
    service: [] as string[],
    method: [] as string[],
    route: [] as string[],
    bucket: [] as number[],
    failed: [] as boolean[],
    lo: [] as number[],
    hi: [] as number[],
    ids: [] as string[],
  };
  const add = (r: RouteRollup, failed: boolean, ids: readonly string[]) => {
    if (ids.length === 0) return;
    columns.service.push(r.service);
    columns.method.push(r.method);
    columns.route.push(r.route);
    columns.bucket.push(r.bucket);
    columns.failed.push(failed);
    columns.lo.push(columns.ids.length + 1);
    columns.ids.push(...ids);
    columns.hi.push(columns.ids.length);
  };
  for (const r of rollups) {
    add(r, false, r.users);
    add(r, true, r.failedUsers);
  }
  return columns;
}

/** The smallest ids of one rollup's set, one past the bound to tell a truncated set. */
const idsOf = (failed: boolean) => sql<string[]>`array(
  SELECT DISTINCT e.id COLLATE "C" FROM app_rollup_users u, unnest(u.ids) AS e(id)
  WHERE u.service = app_rollups.service AND u.method = app_rollups.method
    AND u.route = app_rollups.route AND u.bucket = app_rollups.bucket AND u.failed = ${failed}
  ORDER BY 1 LIMIT ${MAX_ROLLUP_USERS + 1})`;

type RollupRow = Omit<Selectable<AppRollupsTable>, 'users' | 'failed_users'> & {
  user_ids: string[];
  failed_user_ids: string[];
};

const toRollup = (r: RollupRow, withUsers: boolean): RouteRollup => ({
  service: r.service,
  method: r.method,
  route: r.route,
  bucket: r.bucket,
  requests: r.requests,
  failures: r.failures,
  durationMsSum: r.duration_ms_sum,
  durationMsMax: r.duration_ms_max,
  users: r.user_ids.slice(0, MAX_ROLLUP_USERS),
  failedUsers: r.failed_user_ids.slice(0, MAX_ROLLUP_USERS),
  usersTruncated:
    (withUsers && r.users_truncated) ||
    r.user_ids.length > MAX_ROLLUP_USERS ||
    r.failed_user_ids.length > MAX_ROLLUP_USERS,
  causes: r.causes as FailureCause[],
  samples: r.samples as FailureSample[],
  releases: r.releases,
});

/**
 * Rollup rows merged in SQL (counters added, causes and samples bounded by the functions of
 * migration 0003); the user ids each merge adds appended as rows of app_rollup_users (migration
 * 0006): the store keeps every id it is sent (the intake bounds what it sends per key) and reads
 * give the smallest distinct ones up to the bound, so both stores agree.
 */
export function postgresSignals(db: Kysely<StoreDatabase>): SignalRepository {
  /**
   * One statement a chunk: its rollup rows merged (a CTE), then a row of its new user ids appended
   * per key. The ids' SELECT waits on the CTE's count (an InitPlan), so the rows are merged — and
   * locked — first. One round trip, which matters most on a busy machine.
   */
  const mergeChunk = async (tx: Kysely<StoreDatabase>, chunk: readonly RouteRollup[]) => {
    // One row per key (an INSERT … ON CONFLICT may not touch a row twice), in key order: two
    // replicas upserting overlapping keys lock them in the same order, so they never deadlock.
    const upsert = (qb: QueryCreator<StoreDatabase>) =>
      qb
        .insertInto('app_rollups')
        .values(chunk.map(rollupRow))
        .onConflict((oc) =>
          oc.columns(['service', 'method', 'route', 'bucket']).doUpdateSet({
            requests: sql`app_rollups.requests + excluded.requests`,
            failures: sql`app_rollups.failures + excluded.failures`,
            duration_ms_sum: sql`app_rollups.duration_ms_sum + excluded.duration_ms_sum`,
            duration_ms_max: sql`greatest(app_rollups.duration_ms_max, excluded.duration_ms_max)`,
            users_truncated: sql`app_rollups.users_truncated OR excluded.users_truncated`,
            causes: sql`CASE WHEN excluded.causes = '[]'::jsonb THEN app_rollups.causes
              ELSE hindsight_merge_causes(app_rollups.causes, excluded.causes, ${MAX_ROLLUP_CAUSES}) END`,
            samples: sql`CASE WHEN excluded.samples = '[]'::jsonb THEN app_rollups.samples
              ELSE hindsight_first_samples(app_rollups.samples, excluded.samples, ${MAX_ROLLUP_SAMPLES}) END`,
            releases: sql`CASE WHEN excluded.releases <@ app_rollups.releases THEN app_rollups.releases
              ELSE hindsight_unite_releases(app_rollups.releases, excluded.releases) END`,
          }),
        );
    const c = userColumns(chunk);
    if (c.ids.length === 0) {
      await upsert(tx).execute();
      return;
    }
    await tx
      .with('merged', (qb) => upsert(qb).returning(sql<number>`1`.as('one')))
      .insertInto('app_rollup_users')
      .columns(['service', 'method', 'route', 'bucket', 'failed', 'ids'])
      .expression(
        sql`SELECT k.service, k.method, k.route, k.bucket, k.failed, (${c.ids}::text[])[k.lo:k.hi]
            FROM unnest(${c.service}::text[], ${c.method}::text[], ${c.route}::text[], ${c.bucket}::bigint[],
                        ${c.failed}::boolean[], ${c.lo}::int[], ${c.hi}::int[])
                 AS k(service, method, route, bucket, failed, lo, hi)
            WHERE (SELECT count(*) FROM merged) >= 0`,
      )
      .execute();
  };
  return {
    async merge(rollups) {
      const rows = mergeRollupList(rollups);
      if (rows.length <= MERGE_BATCH) {
        if (rows.length > 0) await mergeChunk(db, rows);
        return;
      }
      // Several statements in one transaction: a reply sent after it never stands for half a batch.
      const all = async (tx: Kysely<StoreDatabase>) => {
        for (let start = 0; start < rows.length; start += MERGE_BATCH)
          await mergeChunk(tx, rows.slice(start, start + MERGE_BATCH));
      };
      await (db.isTransaction ? all(db) : db.transaction().execute(all));
    },
    async list({ since, until, service, route, method, limit, users = true }) {
      let query = db
        .selectFrom('app_rollups')
        .select([
          'service',
          'method',
          'route',
          'bucket',
          'requests',
          'failures',
          'duration_ms_sum',
          'duration_ms_max',
          'users_truncated',
          'causes',
          'samples',
          'releases',
        ])
        .select(
          users
            ? [idsOf(false).as('user_ids'), idsOf(true).as('failed_user_ids')]
            : [sql<string[]>`'{}'::text[]`.as('user_ids'), sql<string[]>`'{}'::text[]`.as('failed_user_ids')],
        )
        .where('bucket', '>=', since);
      if (until !== undefined) query = query.where('bucket', '<', until);
      if (service !== undefined) query = query.where('service', '=', service);
      if (route !== undefined) query = query.where('route', '=', route);
      if (method !== undefined) query = query.where('method', '=', method);
      const bounded = Math.max(0, Math.min(MAX_ROLLUP_LIMIT, Math.trunc(limit ?? DEFAULT_ROLLUP_LIMIT)));
      const rows = await query
        .orderBy('bucket')
        .orderBy('service')
        .orderBy('method')
        .orderBy('route')
        .limit(bounded)
        .execute();
      return rows.map((r) => toRollup(r, users));
    },
    async prune(before) {
      const removed = async (tx: Kysely<StoreDatabase>) => {
        // Through the old rollups' keys: the ids' primary key leads with them (no index on bucket
        // to keep up on every insert).
        await sql`
          DELETE FROM app_rollup_users u USING app_rollups r
          WHERE r.bucket < ${before} AND u.service = r.service AND u.method = r.method
            AND u.route = r.route AND u.bucket = r.bucket`.execute(tx);
        const result = await tx.deleteFrom('app_rollups').where('bucket', '<', before).executeTakeFirst();
        return Number(result.numDeletedRows);
      };
      return db.isTransaction ? removed(db) : db.transaction().execute(removed);
    },
  };
}

const toDeploy = (r: Selectable<DeploysTable>): Deploy => ({
  id: r.id,
  service: r.service,
  version: r.version,
  commit: r.commit_sha,
  at: r.at,
  actor: r.actor,
});

export function postgresDeploys(db: Kysely<StoreDatabase>): DeployRepository {
  return {
    async insert(d) {
      await db
        .insertInto('deploys')
        .values({
          id: d.id,
          service: d.service,
          version: d.version,
          commit_sha: d.commit,
          at: d.at,
          actor: d.actor,
        })
        .execute()
        .catch(conflictOn(`deploy ${d.id}`));
    },
    async list({ service, since, limit }) {
      let query = db.selectFrom('deploys').selectAll();
      if (service !== undefined) query = query.where('service', '=', service);
      if (since !== undefined) query = query.where('at', '>=', since);
      const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(listLimit(limit)).execute();
      return rows.map(toDeploy);
    },
    async latestBefore(service, at) {
      const row = await db
        .selectFrom('deploys')
        .selectAll()
        .where('service', '=', service)
        .where('at', '<=', at)
        .orderBy('at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? toDeploy(row) : null;
    },
  };
}
