import { normalizeQuery } from '../core/query-normalizer.js';
import { detach } from './detached-string.js';

const CACHE_LIMIT = 20_000;
/** Longer statements are normalized every time: caching them could hold too much memory. */
const CACHE_MAX_CHARS = 2_000;

/**
 * `normalizeQuery` with a bounded cache: logs repeat the same statements (prepared statements,
 * ORMs) and normalizing is the costliest step per duration line. The cache is cleared when full,
 * which keeps memory bounded at ~CACHE_LIMIT × CACHE_MAX_CHARS.
 */
export class QueryFingerprints {
  readonly #cache = new Map<string, string>();

  of(statement: string): string {
    const cached = this.#cache.get(statement);
    if (cached !== undefined) return cached;
    const normalized = normalizeQuery(statement, { maxLength: 2_000 });
    if (statement.length <= CACHE_MAX_CHARS) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(detach(statement), detach(normalized));
    }
    return normalized;
  }

  /** Distinct statements cached right now. */
  get size(): number {
    return this.#cache.size;
  }
}
