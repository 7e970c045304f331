/**
 * A small, forgiving PostgreSQL lexer: enough to tell literals, parameters, identifiers, operators
 * and comments apart. One pass, linear in the input, never throws: an unterminated string,
 * comment or quoted identifier runs to the end of the input.
 */

export type SqlTokenKind =
  /** Keyword or unquoted identifier. */
  | 'word'
  /** `"quoted identifier"`, kept verbatim. */
  | 'quoted'
  /** String, bit-string or numeric literal. */
  | 'string'
  | 'number'
  /** `$n` parameter. */
  | 'param'
  | 'op'
  /** `( ) [ ] , ; . : ::` */
  | 'punct'
  /** The list-squash marker `/*, ... *\/` that the normalizer writes; kept on purpose. */
  | 'squash'
  | 'other';

export interface SqlToken {
  readonly kind: SqlTokenKind;
  readonly text: string;
  /** Whitespace or a comment came before it. */
  readonly spaced: boolean;
}

export const SQUASH_MARKER = '/*, ... */';

const OP_CHARS = '+-*/<>=~!@#%^&|`?';
/** PostgreSQL splits a trailing `+`/`-` off an operator unless it holds one of these. */
const OP_KEEPS_TRAILING_SIGN = /[~!@#%^&|`?]/;
const PUNCT_CHARS = '()[],;.:';

const isSpace = (c: string): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentStart = (c: string): boolean =>
  (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c.charCodeAt(0) >= 0x80;
export const isIdentChar = (c: string): boolean => isIdentStart(c) || isDigit(c) || c === '$';
const isTagChar = (c: string): boolean => isIdentStart(c) || isDigit(c);

/** Index just past a quoted run that starts at `start` (on the opening quote). */
const skipQuoted = (sql: string, start: number, quote: string, backslashEscapes: boolean): number => {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i += 1;
  }
  return sql.length;
};

/** Index just past a (nested) block comment starting at `start`. */
const skipBlockComment = (sql: string, start: number): number => {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth += 1;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return sql.length;
};

/** `$tag$…$tag$` starting at `start`, or null when `$` does not open a dollar quote. */
const skipDollarQuote = (sql: string, start: number): number | null => {
  let i = start + 1;
  const first = sql[i];
  if (first !== undefined && first !== '$' && !isIdentStart(first)) return null;
  while (i < sql.length && isTagChar(sql[i] ?? '')) i += 1;
  if (sql[i] !== '$') return null;
  const tag = sql.slice(start, i + 1);
  const end = sql.indexOf(tag, i + 1);
  return end === -1 ? sql.length : end + tag.length;
};

const skipDigits = (sql: string, start: number, allowed: (c: string) => boolean): number => {
  let i = start;
  while (i < sql.length && (allowed(sql[i] ?? '') || (sql[i] === '_' && allowed(sql[i + 1] ?? '')))) i += 1;
  return i;
};

const isHexDigit = (c: string): boolean => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

/** Index just past a numeric literal starting at `start` (a digit, or `.` before a digit). */
const skipNumber = (sql: string, start: number): number => {
  const radix = sql[start] === '0' ? (sql[start + 1] ?? '').toLowerCase() : '';
  if (radix === 'x' || radix === 'o' || radix === 'b') {
    const digit =
      radix === 'x'
        ? isHexDigit
        : radix === 'o'
          ? (c: string) => c >= '0' && c <= '7'
          : (c: string) => c === '0' || c === '1';
    const end = skipDigits(sql, start + 2, digit);
    if (end > start + 2) return end;
  }
  let i = skipDigits(sql, start, isDigit);
  // `1..10` is an integer followed by `..` (PL/pgSQL ranges), not `1.` then `.10`.
  if (sql[i] === '.' && sql[i + 1] !== '.') i = skipDigits(sql, i + 1, isDigit);
  const e = sql[i];
  if (e === 'e' || e === 'E') {
    const sign = sql[i + 1] === '+' || sql[i + 1] === '-' ? 1 : 0;
    if (isDigit(sql[i + 1 + sign] ?? '')) i = skipDigits(sql, i + 1 + sign, isDigit);
  }
  return i;
};

/** Length of an operator at `start`, following PostgreSQL's rules for comments and trailing signs. */
const operatorLength = (sql: string, start: number): number => {
  let i = start;
  while (i < sql.length && OP_CHARS.includes(sql[i] ?? '')) {
    if (i > start && ((sql[i] === '-' && sql[i + 1] === '-') || (sql[i] === '/' && sql[i + 1] === '*')))
      break;
    i += 1;
  }
  let text = sql.slice(start, i);
  if (text.length > 1 && !OP_KEEPS_TRAILING_SIGN.test(text)) {
    while (text.length > 1 && (text.endsWith('+') || text.endsWith('-'))) text = text.slice(0, -1);
  }
  return text.length;
};

/** The string literal prefixed by `E`, `B`, `X`, `N` or `U&` at `start`, or null. */
const prefixedStringEnd = (sql: string, start: number): number | null => {
  const c = (sql[start] ?? '').toUpperCase();
  if ((c === 'E' || c === 'B' || c === 'X' || c === 'N') && sql[start + 1] === "'") {
    return skipQuoted(sql, start + 1, "'", c === 'E');
  }
  if (c === 'U' && sql[start + 1] === '&' && sql[start + 2] === "'")
    return skipQuoted(sql, start + 2, "'", false);
  return null;
};

/** Splits SQL into tokens, dropping whitespace and comments (remembered as `spaced`). */
export const tokenizeSql = (sql: string): SqlToken[] => {
  const tokens: SqlToken[] = [];
  let spaced = false;
  let i = 0;
  const push = (kind: SqlTokenKind, end: number): void => {
    tokens.push({ kind, text: sql.slice(i, end), spaced });
    spaced = false;
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i] ?? '';
    const next = sql[i + 1] ?? '';
    if (isSpace(c)) {
      spaced = true;
      i += 1;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      spaced = true;
      i = end === -1 ? sql.length : end + 1;
    } else if (c === '/' && next === '*') {
      if (sql.startsWith(SQUASH_MARKER, i)) {
        push('squash', i + SQUASH_MARKER.length);
      } else {
        spaced = true;
        i = skipBlockComment(sql, i);
      }
    } else if (c === "'") {
      push('string', skipQuoted(sql, i, "'", false));
    } else if (c === '"') {
      push('quoted', skipQuoted(sql, i, '"', false));
    } else if (c === '$' && isDigit(next)) {
      push('param', skipDigits(sql, i + 1, isDigit));
    } else if (c === '$') {
      const end = skipDollarQuote(sql, i);
      push(end === null ? 'other' : 'string', end ?? i + 1);
    } else if (
      isDigit(c) ||
      (c === '.' && isDigit(next) && !isIdentChar(sql[i - 1] ?? ' ') && sql[i - 1] !== '.')
    ) {
      push('number', skipNumber(sql, i));
    } else if (isIdentStart(c)) {
      const stringEnd = prefixedStringEnd(sql, i);
      if (stringEnd !== null) {
        push('string', stringEnd);
      } else {
        let end = i + 1;
        while (end < sql.length && isIdentChar(sql[end] ?? '')) end += 1;
        push('word', end);
      }
    } else if (c === ':' && next === ':') {
      push('punct', i + 2);
    } else if (PUNCT_CHARS.includes(c)) {
      push('punct', i + 1);
    } else if (OP_CHARS.includes(c)) {
      push('op', i + operatorLength(sql, i));
    } else {
      push('other', i + 1);
    }
  }
  return tokens;
};
