import { join } from 'node:path';
import type { TargetConfig } from './config/config-schema.js';
import type { StoreChoice } from './config/server-options.js';
import { pgEnvironment, type PgEnvironment } from './config/postgres-conninfo.js';
import type { TargetWatchOptions } from './engine/target-watch.js';

/**
 * Part of the composition root: a target of the configuration file as serve and agent watch it — as
 * `hindsight watch` would, the `PG*` variables and the password file filling what its URL leaves out.
 */
export const targetWatchOptions = (t: TargetConfig): TargetWatchOptions =>
  configuredTarget(t, pgEnvironment());

/** `targetWatchOptions` in a given environment. */
export const configuredTarget = (t: TargetConfig, environment: PgEnvironment): TargetWatchOptions => ({
  name: t.name,
  url: t.url,
  environment,
  log: t.log ?? null,
  logFormat: t.logFormat,
  logPrefix: t.logPrefix ?? null,
  logTimezone: t.logTimezone ?? null,
  fromStart: false,
  intervalMs: t.interval,
  rawQueries: t.rawQueries,
  thresholds: {
    blockingMs: t.thresholds.blocking,
    idleInTransactionMs: t.thresholds.idleInTransaction,
    longTransactionMs: t.thresholds.longTransaction,
  },
});

/**
 * serve on its embedded store: each target's log position is kept in the data directory, so that a
 * restart reads on where the last run stopped instead of at the log's end. (A team's store has no
 * directory of ours: there a restart starts at the end.)
 */
export const withLogPosition = (target: TargetWatchOptions, store: StoreChoice): TargetWatchOptions =>
  store.kind === 'embedded' && target.log !== null
    ? { ...target, logPositionFile: join(store.dataDir, 'log-positions', `${target.name}.json`) }
    : target;
