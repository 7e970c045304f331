import type { RouteRollup } from '../core/app-signal.js';
import type { RollupQuery, StoreRepositories } from '../core/incident-store.js';
import { MAX_ROLLUP_LIMIT } from '../core/incident-store.js';
import type { Incident } from '../core/incident.js';
import type { IncidentAppSide } from '../core/incident-app-side.js';
import { appSideOf, appSideSpan } from '../core/incident-app-side.js';

/**
 * Every rollup the query matches, however many: pages of `MAX_ROLLUP_LIMIT` (oldest bucket first),
 * each continuing at the last page's last bucket, whose rows it drops (that bucket is read whole by
 * the next page). A single bucket with more rows than a page is taken as it is.
 */
export const readRollups = async (
  signals: StoreRepositories['signals'],
  query: Omit<RollupQuery, 'limit'>,
): Promise<RouteRollup[]> => {
  const found: RouteRollup[] = [];
  let since = query.since;
  for (;;) {
    const page = await signals.list({ ...query, since, limit: MAX_ROLLUP_LIMIT });
    const last = page[page.length - 1];
    if (page.length < MAX_ROLLUP_LIMIT || last === undefined) {
      found.push(...page);
      return found;
    }
    const whole = page.filter((r) => r.bucket < last.bucket);
    if (whole.length === 0) {
      found.push(...page);
      since = last.bucket + 1;
    } else {
      found.push(...whole);
      since = last.bucket;
    }
  }
};

/**
 * The web app's side of an incident (impact, attribution, onset deploy) from its service's rollups
 * over its span and the last deploy before it opened. Read when asked (the API, the summary): a
 * resolved incident's span is fixed, so it reads the same until its rollups are pruned (14 days);
 * the summary sentence keeps the figures after that.
 */
export const readAppSide = async (
  tx: Pick<StoreRepositories, 'signals' | 'deploys'>,
  incident: Incident,
  now: number,
): Promise<IncidentAppSide> => {
  const span = appSideSpan(incident, now);
  const [rollups, deploy] = await Promise.all([
    readRollups(tx.signals, { service: span.service, since: span.from, until: span.until + 1 }),
    tx.deploys.latestBefore(incident.service, incident.createdAt),
  ]);
  return appSideOf(incident, { rollups, deploy, now });
};
