import type { TargetConfig } from './config/config-schema.js';
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
  fromStart: false,
  intervalMs: t.interval,
  rawQueries: t.rawQueries,
  thresholds: {
    blockingMs: t.thresholds.blocking,
    idleInTransactionMs: t.thresholds.idleInTransaction,
    longTransactionMs: t.thresholds.longTransaction,
  },
});
