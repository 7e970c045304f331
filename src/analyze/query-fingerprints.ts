import { normalizeQuery } from '../core/query-normalizer.js';
import { detach } from './detached-string.js';

/**
 * A bare integer: digits with no identifier character, `$`, `.` or quote on either side (so not
 * part of a name, a parameter, a decimal, `0x…`, `1e5` or `1_000`).
 */
const BARE_INTEGER = /(?<![\w$.\u0080-\uffff])\d+(?![\w$.\u0080-\uffff])/g;

/**
 * The cache key: the statement with its bare integers as `0`. Logs of statements with literals
 * inline (`WHERE aid = 48213`) repeat few shapes but almost no texts; two statements with one key
 * normalize alike (a bare integer is a constant, or sits in a string or comment that is one or
 * dropped), so one normalization serves the shape. Not for quoted identifiers, where a number is
 * part of a name: those are keyed by their text. A property test holds this.
 */
export function shapeKey(statement: string): string {
  return statement.includes('"') ? statement : statement.replace(BARE_INTEGER, '0');
}

/** What the cache may hold, in characters of raw and normalized text together (~2–4 MB). */
const CACHE_CHARS = 2_000_000;
/** Longer statements are normalized every time: caching them could hold too much memory. */
const CACHE_MAX_CHARS = 2_000;

/**
 * `normalizeQuery` with a bounded cache: logs repeat the same statements (prepared statements,
 * ORMs) and normalizing is the costliest step per duration line. The cache is cleared when it
 * holds CACHE_CHARS: bounded by size, not by count, because a log of distinct long statements
 * (literals inline) would otherwise keep tens of MB per worker (measured: 362 MB peak on such a log).
 */
export class QueryFingerprints {
  readonly #cache = new Map<string, string>();
  #chars = 0;

  of(statement: string): string {
    if (statement.length > CACHE_MAX_CHARS) return normalizeQuery(statement, { maxLength: 2_000 });
    const key = shapeKey(statement);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const normalized = normalizeQuery(statement, { maxLength: 2_000 });
    const chars = key.length + normalized.length;
    if (this.#chars + chars > CACHE_CHARS) {
      this.#cache.clear();
      this.#chars = 0;
    }
    this.#cache.set(key === statement ? detach(key) : key, detach(normalized));
    this.#chars += chars;
    return normalized;
  }

  /** Distinct statements cached right now. */
  get size(): number {
    return this.#cache.size;
  }
}
