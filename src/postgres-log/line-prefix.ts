/**
 * Compiles a PostgreSQL `log_line_prefix` into one sticky regular expression that matches a whole
 * line head — the prefix, the severity and the two spaces after it — and says which capture group
 * holds which field. Matching runs at a line's offset in a decoded chunk, so no string is made per
 * line.
 */

/** What an escape of `log_line_prefix` carries (the ones a `LogEvent` needs keep their value). */
export type PrefixField =
  | 'timestamp' // %m %t %n
  | 'pid' // %p
  | 'user' // %u
  | 'database' // %d
  | 'application' // %a
  | 'client' // %r %h
  | 'sessionId' // %c
  | 'sqlstate' // %e
  | 'other';

export interface CompiledPrefix {
  readonly prefix: string;
  /** Sticky regex: prefix, then `(SEVERITY):  `. Group `severityGroup` is the severity. */
  readonly regex: RegExp;
  /** The same head with any non-space word as severity, for logs in another language. */
  readonly anySeverity: RegExp;
  /** `fields[i]` is what capture group i + 1 holds (escapes whose value no event carries have none). */
  readonly fields: readonly PrefixField[];
  readonly severityGroup: number;
  /** Which escape gave the timestamp: `%n` is epoch seconds, `%m`/`%t` are date-times. */
  readonly timestampKind: 'epoch' | 'datetime' | null;
  /** True when the prefix has `%q`: non-session processes print only what is before it. */
  readonly hasSessionPart: boolean;
}

/** English severities and the continuation keywords that follow a message on lines of their own. */
export const MESSAGE_SEVERITIES = [
  'LOG',
  'ERROR',
  'WARNING',
  'FATAL',
  'PANIC',
  'NOTICE',
  'INFO',
  'DEBUG',
] as const;
export const CONTINUATION_KEYWORDS = ['DETAIL', 'HINT', 'CONTEXT', 'STATEMENT', 'QUERY', 'LOCATION'] as const;
/** Every keyword a line head can carry, the most frequent first (for matching by hand). */
export const LINE_KEYWORDS: readonly string[] = [
  'LOG',
  'DETAIL',
  'STATEMENT',
  'ERROR',
  'CONTEXT',
  'WARNING',
  'HINT',
  'QUERY',
  'FATAL',
  'NOTICE',
  'INFO',
  'LOCATION',
  'PANIC',
  'DEBUG1',
  'DEBUG2',
  'DEBUG3',
  'DEBUG4',
  'DEBUG5',
  'DEBUG',
];
const ENGLISH_SEVERITIES: ReadonlySet<string> = new Set([
  ...MESSAGE_SEVERITIES,
  'DEBUG1',
  'DEBUG2',
  'DEBUG3',
  'DEBUG4',
  'DEBUG5',
]);

/** False for a translated severity (`FEHLER`, `ERREUR`): the server's lc_messages is not English. */
export function isEnglishSeverity(severity: string): boolean {
  return ENGLISH_SEVERITIES.has(severity);
}
const SEVERITY = `(${[...MESSAGE_SEVERITIES, ...CONTINUATION_KEYWORDS].join('|')}|DEBUG[1-5]):  `;
const ANY_SEVERITY = '([^\\s:]{1,32}):  ';

// Zone abbreviations as PostgreSQL prints them (`UTC`, `CEST`, `+03`, `-0530`).
const ZONE = '(?:[A-Za-z]{1,6}(?:[+-]\\d{1,2})?|[+-]\\d\\d(?::?\\d\\d)?)';
const DATE_TIME = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';

interface Escape {
  readonly pattern: string;
  readonly field: PrefixField;
}

const ESCAPES: Readonly<Record<string, Escape>> = {
  a: { pattern: '(.*?)', field: 'application' },
  u: { pattern: '(.*?)', field: 'user' },
  d: { pattern: '(.*?)', field: 'database' },
  r: { pattern: '(.*?)', field: 'client' },
  h: { pattern: '(.*?)', field: 'client' },
  L: { pattern: '(.*?)', field: 'other' },
  b: { pattern: '(.*?)', field: 'other' },
  i: { pattern: '(.*?)', field: 'other' },
  p: { pattern: '(\\d+)', field: 'pid' },
  P: { pattern: '(\\d*)', field: 'other' },
  m: { pattern: `(${DATE_TIME}\\.\\d{3}(?: ${ZONE})?)`, field: 'timestamp' },
  t: { pattern: `(${DATE_TIME}(?: ${ZONE})?)`, field: 'timestamp' },
  n: { pattern: '(\\d+\\.\\d{3})', field: 'timestamp' },
  s: { pattern: `(${DATE_TIME}(?: ${ZONE})?)`, field: 'other' },
  c: { pattern: '([0-9a-f]+\\.[0-9a-f]+)', field: 'sessionId' },
  l: { pattern: '(\\d*)', field: 'other' },
  v: { pattern: '(\\S*?)', field: 'other' },
  x: { pattern: '(\\d*)', field: 'other' },
  e: { pattern: '([0-9A-Z]{5})', field: 'sqlstate' },
  Q: { pattern: '(-?\\d*)', field: 'other' },
};

const escapeLiteral = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Compiles any `log_line_prefix`: every escape PostgreSQL 13–18 knows, padding such as `%-10u` or
 * `%5p`, `%q` and `%%`. Unknown escapes print nothing in PostgreSQL, so they match nothing here.
 */
export function compileLinePrefix(prefix: string): CompiledPrefix {
  const fields: PrefixField[] = [];
  let head = '';
  let tail: string | null = null;
  let timestampKind: CompiledPrefix['timestampKind'] = null;
  const append = (piece: string) => {
    if (tail === null) head += piece;
    else tail += piece;
  };
  for (let i = 0; i < prefix.length; i++) {
    const char = prefix[i];
    if (char !== '%' || i + 1 >= prefix.length) {
      append(escapeLiteral(char ?? ''));
      continue;
    }
    // Padding: `%-10u` pads on the right, `%10u` on the left, with spaces.
    const padding = /^-?\d+/.exec(prefix.slice(i + 1))?.[0] ?? '';
    i += padding.length + 1;
    const code = prefix[i];
    if (code === undefined) break;
    if (code === '%') {
      append('%');
      continue;
    }
    if (code === 'q') {
      if (tail === null) tail = '';
      continue;
    }
    const escape = ESCAPES[code];
    if (!escape) continue;
    if (escape.field === 'timestamp' && timestampKind === null)
      timestampKind = code === 'n' ? 'epoch' : 'datetime';
    // Values no event carries (`%l`, `%v`, `%s`…) are matched without a capture group: a capture
    // is a string made per line.
    const captured = escape.field !== 'other';
    if (captured) fields.push(escape.field);
    const inner = captured ? escape.pattern : escape.pattern.replace(/^\(/, '(?:');
    const pattern = padding === '' ? inner : padding.startsWith('-') ? `${inner} *` : ` *${inner}`;
    append(pattern);
  }
  const body = tail === null ? head : `${head}(?:${tail})?`;
  return {
    prefix,
    regex: new RegExp(body + SEVERITY, 'y'),
    anySeverity: new RegExp(body + ANY_SEVERITY, 'y'),
    fields,
    severityGroup: fields.length + 1,
    timestampKind,
    hasSessionPart: tail !== null,
  };
}

/** Prefixes seen in the wild, most common first: PostgreSQL's default, Debian's, pgBadger's advice. */
export const COMMON_PREFIXES: readonly string[] = [
  '%m [%p] ',
  '%m [%p] %q%u@%d ',
  '%t [%p] %q%u@%d ',
  '%m [%p] %q%u@%d/%a ',
  '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ',
  '%t [%p]: user=%u,db=%d,app=%a,client=%h ',
  '%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ',
  '%t:%r:%u@%d:[%p]:',
  '%m:%r:%u@%d:[%p]:',
  '%t [%p-%l] %q%u@%d ',
  '%m [%p-%l] %q%u@%d ',
  '< %m > ',
  '%m %u %d [%p] ',
  '%t [%p] ',
  '%m ',
  '%t ',
  '',
];
