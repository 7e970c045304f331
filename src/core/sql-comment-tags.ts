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

const isSpace = (code: number): boolean => code === 32 || (code >= 9 && code <= 13);

/** A comment cut short (`/*callsite='demo%2Fsh`): what PostgreSQL keeps of tags past `track_activity_query_size`. */
const CUT_TAGS =
  /^(?:[A-Za-z0-9_.%-]+='(?:[^'\\]|\\.)*',)*(?:[A-Za-z0-9_.%-]+(?:='(?:[^'\\]|\\.)*'?)?)?\\?\*?$/;

/** The comment that opens `sql` (after whitespace), and what follows it; null when there is none. */
const leadingComment = (sql: string): { body: string; rest: string } | null => {
  let open = 0;
  while (open < sql.length && isSpace(sql.charCodeAt(open))) open++;
  if (!sql.startsWith('/*', open)) return null;
  const close = sql.indexOf('*/', open + 2);
  if (close < 0) return null;
  let after = close + 2;
  while (after < sql.length && isSpace(sql.charCodeAt(after))) after++;
  return { body: sql.slice(open + 2, close), rest: sql.slice(after) };
};

/** The comment that ends `sql` (before whitespace and one `;`), and what precedes it; null when there is none. */
const trailingComment = (sql: string): { body: string; rest: string } | null => {
  let end = sql.length;
  while (end > 0 && isSpace(sql.charCodeAt(end - 1))) end--;
  if (sql.charCodeAt(end - 1) === 59 /* ; */) end--;
  while (end > 0 && isSpace(sql.charCodeAt(end - 1))) end--;
  if (end < 4 || !sql.startsWith('*/', end - 2)) return null;
  const open = sql.lastIndexOf('/*', end - 4);
  if (open < 0) return null;
  const body = sql.slice(open + 2, end - 2);
  if (body.includes('*/')) return null;
  let before = open;
  while (before > 0 && isSpace(sql.charCodeAt(before - 1))) before--;
  return { body, rest: sql.slice(0, before) };
};

/**
 * `sql` without a tags comment that was cut short at its end (an unterminated comment is not SQL
 * PostgreSQL would run, so it was cut when logged or shown): the rest of the text, `''` when the
 * comment was first and nothing else is left.
 */
const withoutCutTags = (sql: string): string => {
  const open = sql.lastIndexOf('/*');
  if (open < 0 || sql.includes('*/', open + 2) || !CUT_TAGS.test(sql.slice(open + 2))) return sql;
  let before = open;
  while (before > 0 && isSpace(sql.charCodeAt(before - 1))) before--;
  return sql.slice(0, before);
};

/**
 * Reads sqlcommenter tags from the start or the end of `sql` (a comment that is not tags is left
 * alone). A tags comment cut short by PostgreSQL (`track_activity_query_size`) gives no tags and
 * is removed from the statement, so no half comment is shown.
 */
export const parseSqlTags = (sql: string): TaggedSql => {
  if (!sql.includes('/*')) return { tags: {}, sql };
  for (const found of [leadingComment(sql), trailingComment(sql)]) {
    if (found === null) continue;
    const body = parseBody(found.body);
    if (body === null) continue;
    const tags: Record<string, string> = {};
    for (const key of KEYS) {
      const value = body[key];
      if (value !== undefined) tags[key] = value;
    }
    if (Object.keys(tags).length === 0) continue;
    return { tags, sql: withoutCutTags(found.rest) };
  }
  return { tags: {}, sql: withoutCutTags(sql) };
};
