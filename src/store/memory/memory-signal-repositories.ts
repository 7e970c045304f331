import type { Deploy, RouteRollup } from '../../core/app-signal.js';
import { byRollupOrder, mergeRollups, rollupKey } from '../../core/app-signal-rollup.js';
import {
  DEFAULT_ROLLUP_LIMIT,
  MAX_ROLLUP_LIMIT,
  type DeployRepository,
  type SignalRepository,
} from '../../core/incident-store.js';
import { listLimit } from '../list-limit.js';
import { storeConflict } from '../store-conflict.js';
import type { TableAccess } from './memory-tables.js';

/** The web app's rollups and deploys in memory: the same behaviour the contract suite checks on PostgreSQL. */

const out = <T>(value: T): Promise<T> => Promise.resolve(structuredClone(value));
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const newestFirst = (a: Deploy, b: Deploy): number => b.at - a.at || byText(b.id, a.id);

export const rollupLimit = (limit: number | undefined): number =>
  Math.max(0, Math.min(MAX_ROLLUP_LIMIT, Math.trunc(limit ?? DEFAULT_ROLLUP_LIMIT)));

const withoutUsers = (r: RouteRollup): RouteRollup => ({
  ...r,
  users: [],
  failedUsers: [],
  usersTruncated: false,
});

export function memorySignals(t: TableAccess): SignalRepository {
  return {
    merge(rollups) {
      for (const r of rollups) {
        const key = rollupKey(r);
        const stored = t.get('rollups', key);
        t.set('rollups', key, stored === undefined ? r : mergeRollups(stored, r));
      }
      return Promise.resolve();
    },
    list({ since, until, service, route, method, limit, users = true }) {
      const rows: RouteRollup[] = [];
      for (const r of t.values('rollups')) {
        if (r.bucket < since || (until !== undefined && r.bucket >= until)) continue;
        if ((service !== undefined && r.service !== service) || (route !== undefined && r.route !== route))
          continue;
        if (method !== undefined && r.method !== method) continue;
        rows.push(r);
      }
      const page = rows.sort(byRollupOrder).slice(0, rollupLimit(limit));
      return out(users ? page : page.map(withoutUsers));
    },
    prune(before) {
      let dropped = 0;
      for (const r of t.rows('rollups')) {
        if (r.bucket < before && t.delete('rollups', rollupKey(r))) dropped += 1;
      }
      return out(dropped);
    },
  };
}

export function memoryDeploys(t: TableAccess): DeployRepository {
  return {
    insert(deploy) {
      if (t.has('deploys', deploy.id)) return Promise.reject(storeConflict(`deploy ${deploy.id}`));
      t.set('deploys', deploy.id, deploy);
      return Promise.resolve();
    },
    list({ service, since, limit }) {
      const rows = t
        .rows('deploys')
        .filter(
          (d) => (service === undefined || d.service === service) && (since === undefined || d.at >= since),
        )
        .sort(newestFirst);
      return out(rows.slice(0, listLimit(limit)));
    },
    latestBefore(service, at) {
      let best: Deploy | null = null;
      for (const d of t.values('deploys')) {
        if (d.service === service && d.at <= at && (best === null || newestFirst(d, best) < 0)) best = d;
      }
      return out(best);
    },
  };
}
