import type { TargetConfig } from './config/config-schema.js';
import type { TargetWatchOptions } from './engine/target-watch.js';

/** Part of the composition root: a target of the configuration file as serve and agent watch it — as `hindsight watch` would. */
export const targetWatchOptions = (t: TargetConfig): TargetWatchOptions => ({
  name: t.name,
  url: t.url,
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
