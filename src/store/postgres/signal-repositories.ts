import { sql, type Kysely, type Selectable } from 'kysely';
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
  users: [...r.users],
  failed_users: [...r.failedUsers],
  users_truncated: r.usersTruncated,
  causes: JSON.stringify(r.causes),
  samples: JSON.stringify(r.samples),
  releases: [...r.releases],
});

const toRollup = (r: Selectable<AppRollupsTable>): RouteRollup => ({
  service: r.service,
  method: r.method,
  route: r.route,
  bucket: r.bucket,
  requests: r.requests,
  failures: r.failures,
  durationMsSum: r.duration_ms_sum,
  durationMsMax: r.duration_ms_max,
  users: r.users,
  failedUsers: r.failed_users,
  usersTruncated: r.users_truncated,
  causes: r.causes as FailureCause[],
  samples: r.samples as FailureSample[],
  releases: r.releases,
});

export function postgresSignals(db: Kysely<StoreDatabase>): SignalRepository {
  return {
    async merge(rollups) {
      // One row per key (an INSERT … ON CONFLICT may not touch a row twice), in key order: two
      // replicas upserting overlapping keys lock them in the same order, so they never deadlock.
      const rows = mergeRollupList(rollups).map(rollupRow);
      for (let start = 0; start < rows.length; start += MERGE_BATCH) {
        await db
          .insertInto('app_rollups')
          .values(rows.slice(start, start + MERGE_BATCH))
          .onConflict((oc) =>
            oc.columns(['service', 'method', 'route', 'bucket']).doUpdateSet({
              requests: sql`app_rollups.requests + excluded.requests`,
              failures: sql`app_rollups.failures + excluded.failures`,
              duration_ms_sum: sql`app_rollups.duration_ms_sum + excluded.duration_ms_sum`,
              duration_ms_max: sql`greatest(app_rollups.duration_ms_max, excluded.duration_ms_max)`,
              users: sql`hindsight_unite_ids(app_rollups.users, excluded.users, ${MAX_ROLLUP_USERS})`,
              failed_users: sql`hindsight_unite_ids(app_rollups.failed_users, excluded.failed_users, ${MAX_ROLLUP_USERS})`,
              users_truncated: sql`app_rollups.users_truncated OR excluded.users_truncated
                OR hindsight_ids_overflow(app_rollups.users, excluded.users, ${MAX_ROLLUP_USERS})
                OR hindsight_ids_overflow(app_rollups.failed_users, excluded.failed_users, ${MAX_ROLLUP_USERS})`,
              causes: sql`hindsight_merge_causes(app_rollups.causes, excluded.causes, ${MAX_ROLLUP_CAUSES})`,
              samples: sql`hindsight_first_samples(app_rollups.samples, excluded.samples, ${MAX_ROLLUP_SAMPLES})`,
              releases: sql`hindsight_unite_releases(app_rollups.releases, excluded.releases)`,
            }),
          )
          .execute();
      }
    },
    async list({ since, until, service, route, method, limit }) {
      let query = db.selectFrom('app_rollups').selectAll().where('bucket', '>=', since);
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
      return rows.map(toRollup);
    },
    async prune(before) {
      const result = await db.deleteFrom('app_rollups').where('bucket', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
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
