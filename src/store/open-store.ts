import type { StoreChoice } from '../config/server-options.js';
import { openEmbeddedStore } from './postgres/embedded-store.js';
import { PostgresStore } from './postgres/postgres-store.js';

export interface OpenStoreOptions {
  /** An idle pooled connection failed; the pool replaces it (log it). */
  readonly onConnectionError?: (error: Error) => void;
  /** Pool size (default 10). */
  readonly maxConnections?: number;
}

/**
 * The store `serve` runs on: Hindsight's own embedded PostgreSQL in the data directory, or a team's
 * server (`--store postgres://…`). Migrated and ready when it resolves; `close()` it on shutdown
 * (for the embedded store that also stops the server).
 */
export function openStore(choice: StoreChoice, options: OpenStoreOptions = {}): Promise<PostgresStore> {
  return choice.kind === 'embedded'
    ? openEmbeddedStore({ dataDir: choice.dataDir, ...options })
    : PostgresStore.open({ url: choice.url, ...options });
}
