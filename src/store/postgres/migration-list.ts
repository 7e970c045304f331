import { sql as incidentRecord } from './migrations/0001-incident-record.js';
import { sql as paging } from './migrations/0002-paging.js';
import { sql as appSignals } from './migrations/0003-app-signals.js';
import { sql as databaseMetrics } from './migrations/0004-database-metrics.js';
import { sql as compactMetrics } from './migrations/0005-compact-metrics.js';
import { sql as rollupUsers } from './migrations/0006-rollup-users.js';

/** A schema change, applied once, in order, and recorded in `hindsight_migrations`. */
export interface Migration {
  readonly name: string;
  readonly sql: string;
}

/**
 * Every migration, oldest first. Migrations only grow: append new ones at the end, never edit or
 * reorder one that has shipped (a replica still running the previous release reads the same tables).
 */
export const MIGRATIONS: readonly Migration[] = [
  { name: '0001-incident-record', sql: incidentRecord },
  { name: '0002-paging', sql: paging },
  { name: '0003-app-signals', sql: appSignals },
  { name: '0004-database-metrics', sql: databaseMetrics },
  { name: '0005-compact-metrics', sql: compactMetrics },
  { name: '0006-rollup-users', sql: rollupUsers },
];
