import type { SqlTags } from './app-signal.js';

/**
 * sqlcommenter (https://google.github.io/sqlcommenter/spec/): tags in a SQL comment,
 * `/*key='value',…*\/`, keys sorted, each key and value URL-encoded and a `'` in a value escaped as
 * `\'`. The SDK writes the comment *first* (PostgreSQL cuts the text it logs and shows in
 * `pg_stat_activity` at `track_activity_query_size`); ORMs and other tools put it last. Reading
 * accepts either end, so tags written by other sqlcommenter libraries are read too.
 */

const KEYS: readonly (keyof SqlTags)[] = ['callsite', 'job', 'release', 'route', 'service'];

const encode = (s: string): string => encodeURIComponent(s).replaceAll("'", "\\'");

const decode = (s: string): string | null => {
  try {
    return decodeURIComponent(s.replaceAll("\\'", "'"));
  } catch {
    return null;
  }
};

/** The comment for `tags` (keys sorted, empty values left out), or `''` when there is nothing to say. */
export const formatSqlTags = (tags: SqlTags): string => {
  const parts: string[] = [];
  for (const key of KEYS) {
    const value = tags[key];
    if (value !== undefined && value !== '') parts.push(`${key}='${encode(value)}'`);
  }
  return parts.length === 0 ? '' : `/*${parts.join(',')}*/`;
};

/** `sql` with the tags' comment put first (a statement that already carries a comment keeps it). */
export const prependSqlTags = (sql: string, tags: SqlTags): string => {
  const comment = formatSqlTags(tags);
  return comment === '' ? sql : `${comment} ${sql}`;
};

/** One `key='value'` pair; a value's `'` is escaped as `\'`. */
const PAIR = /^([A-Za-z0-9_.%-]+)='((?:[^'\\]|\\.)*)'$/;

const parseBody = (body: string): Record<string, string> | null => {
  const out: Record<string, string> = {};
  // Split on commas outside quotes.
  const pairs: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '\\') i++;
    else if (ch === "'") quoted = !quoted;
    else if (ch === ',' && !quoted) {
      pairs.push(body.slice(start, i));
      start = i + 1;
    }
  }
  pairs.push(body.slice(start));
  for (const pair of pairs) {
    const m = PAIR.exec(pair.trim());
    if (m === null) return null;
    const key = decode(m[1] ?? '');
    const value = decode(m[2] ?? '');
    if (key === null || value === null) return null;
    out[key] = value;
  }
  return out;
};

export interface TaggedSql {
  /** The tags we know (other keys of the comment are ignored); `{}` when the statement carries none. */
  readonly tags: SqlTags;
  /** The statement without the tags' comment. */
  readonly sql: string;
}

const LEADING = /^\s*\/\*([^*]*(?:\*(?!\/)[^*]*)*)\*\/\s*/;
const TRAILING = /\s*\/\*([^*]*(?:\*(?!\/)[^*]*)*)\*\/\s*;?\s*$/;

/** Reads sqlcommenter tags from the start or the end of `sql` (a comment that is not tags is left alone). */
export const parseSqlTags = (sql: string): TaggedSql => {
  for (const re of [LEADING, TRAILING]) {
    const m = re.exec(sql);
    if (m === null) continue;
    const body = parseBody(m[1] ?? '');
    if (body === null) continue;
    const tags: Record<string, string> = {};
    for (const key of KEYS) {
      const value = body[key];
      if (value !== undefined) tags[key] = value;
    }
    if (Object.keys(tags).length === 0) continue;
    const rest = re === LEADING ? sql.slice(m[0].length) : sql.slice(0, m.index);
    return { tags, sql: rest };
  }
  return { tags: {}, sql };
};
