import { isIdentChar, SQUASH_MARKER, tokenizeSql } from './sql-lexer.js';
import type { SqlToken } from './sql-lexer.js';

/**
 * Query text with its literals replaced by `$1`, `$2`… so that it can be stored, shown and grouped
 * without leaking data (PRODUCT.md: private by default). Close to what pg_stat_statements shows:
 *  - string (`'…'`, `E'…'`, `B'…'`, `X'…'`, `U&'…'`, `$tag$…$tag$`) and numeric literals
 *    (decimals, exponents, `0x…`, a unary minus folded in) become parameters;
 *  - `TRUE`, `FALSE`, `NULL` and identifiers (quoted ones verbatim) stay;
 *  - existing `$n` are renumbered with the literals in order of first appearance, so the same
 *    `$n` keeps one new number and the result is dense from `$1`;
 *  - a list of two or more constants in `IN (…)` or `ARRAY[…]` becomes `IN ($1 /*, ... *\/)` —
 *    PostgreSQL 18's squashed form — so `IN (1,2)` and `IN (1,2,3)` group together;
 *  - comments are dropped, whitespace squeezed to one space (none before `;`), keyword case kept.
 * It never throws, runs in linear time, reads at most `maxInputChars` of input and returns at most
 * `maxLength` characters (cut at a token boundary, then ` …`). It is idempotent.
 */
export interface NormalizeOptions {
  /** Longest result, in UTF-16 units. Default 8192. */
  readonly maxLength?: number;
  /** Input beyond this is ignored (and the result ends in ` …`). Default 65 536. */
  readonly maxInputChars?: number;
}

export const TRUNCATION_MARK = '…';

const DEFAULT_MAX_LENGTH = 8192;
const DEFAULT_MAX_INPUT = 65_536;

/** After these keywords a `-` is a sign, not a subtraction (`SELECT -1`, `LIMIT -1`). */
const SIGN_AFTER_KEYWORDS = new Set([
  'select',
  'where',
  'and',
  'or',
  'not',
  'then',
  'else',
  'when',
  'case',
  'values',
  'limit',
  'offset',
  'returning',
  'in',
  'between',
  'like',
  'ilike',
  'is',
  'on',
  'having',
  'return',
  'default',
  'any',
  'all',
  'some',
  'by',
  'escape',
  'set',
  'distinct',
  'fetch',
  'first',
  'next',
]);

/** Working token: `const` marks a literal or parameter whose number is given at render time. */
interface Item {
  readonly kind: SqlToken['kind'] | 'const';
  readonly text: string;
  readonly spaced: boolean;
  /** For a `$n` that was in the input: its original number, so repeats share a new one. */
  readonly paramKey?: string;
}

const isConst = (item: Item | undefined): boolean => item?.kind === 'const';

const signMayFollow = (prev: Item | undefined): boolean =>
  prev === undefined ||
  prev.kind === 'op' ||
  (prev.kind === 'punct' && prev.text !== ')' && prev.text !== ']') ||
  (prev.kind === 'word' && SIGN_AFTER_KEYWORDS.has(prev.text.toLowerCase()));

/** Literals and parameters become `const` items; a unary minus folds into the number after it. */
const toItems = (tokens: readonly SqlToken[]): Item[] => {
  const items: Item[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (token === undefined) continue;
    const following = tokens[i + 1];
    if (
      token.kind === 'op' &&
      token.text === '-' &&
      following?.kind === 'number' &&
      signMayFollow(items.at(-1))
    ) {
      items.push({ kind: 'const', text: '', spaced: token.spaced });
      i += 1;
    } else if (token.kind === 'string' || token.kind === 'number') {
      items.push({ kind: 'const', text: '', spaced: token.spaced });
    } else if (token.kind === 'param') {
      items.push({ kind: 'const', text: '', spaced: token.spaced, paramKey: token.text });
    } else {
      items.push(token);
    }
  }
  return items;
};

/**
 * Index just past a constant list opened at `open` (`(` after IN, or `[` after ARRAY) when it holds
 * two or more constants (or one already squashed), else null.
 */
const constListEnd = (items: readonly Item[], open: number, close: string): number | null => {
  let i = open + 1;
  let count = 0;
  for (;;) {
    if (!isConst(items[i])) return null;
    count += 1;
    i += 1;
    const after = items[i];
    if (after?.kind === 'squash') {
      count += 1;
      i += 1;
      continue;
    }
    if (after?.kind === 'punct' && after.text === ',') {
      i += 1;
      continue;
    }
    if (after?.kind === 'punct' && after.text === close) return count >= 2 ? i : null;
    return null;
  }
};

const squashLists = (items: readonly Item[]): Item[] => {
  const out: Item[] = [];
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i];
    if (item === undefined) continue;
    out.push(item);
    const opener = items[i + 1];
    const keyword = item.kind === 'word' ? item.text.toLowerCase() : '';
    const close = keyword === 'in' ? ')' : keyword === 'array' ? ']' : null;
    if (close === null || opener?.kind !== 'punct' || opener.text !== (close === ')' ? '(' : '[')) continue;
    const end = constListEnd(items, i + 1, close);
    const first = items[i + 2];
    const closing = end === null ? undefined : items[end];
    if (end === null || first === undefined || closing === undefined) continue;
    out.push(
      opener,
      first,
      { kind: 'squash', text: SQUASH_MARKER, spaced: true },
      { ...closing, spaced: false },
    );
    i = end;
  }
  return out;
};

/** Renders with single spaces and dense `$n`. */
const render = (items: readonly Item[]): string[] => {
  const params = new Map<string, number>();
  let counter = 0;
  let previous = '';
  const pieces: string[] = [];
  for (const item of items) {
    let text = item.text;
    if (item.kind === 'const') {
      const known = item.paramKey === undefined ? undefined : params.get(item.paramKey);
      const n = known ?? (counter += 1);
      if (item.paramKey !== undefined) params.set(item.paramKey, n);
      text = `$${n}`;
    }
    // A space where the two would lex as one token (`abc'x'` → `abc $1`, not `abc$1`); a lone `$`
    // before a word is left as written (`$a` lexes the same again), before `$1` it is not (`$$`).
    const first = text[0] ?? ' ';
    const loneDollar = previous === '$' && first !== '$';
    const glued = previous !== '' && !loneDollar && isIdentChar(previous.at(-1) ?? ' ') && isIdentChar(first);
    // `x;`, `x ;` and `x /*tags*/;` (sqlcommenter tags written last) are one statement.
    const ends = item.kind === 'punct' && text === ';';
    pieces.push(previous !== '' && ((item.spaced && !ends) || glued) ? ` ${text}` : text);
    previous = text;
  }
  return pieces;
};

/** Joins pieces; when too long (or the input was cut) keeps whole pieces and ends in ` …`. */
const fit = (pieces: readonly string[], maxLength: number, truncated: boolean): string => {
  const whole = pieces.join('');
  if (!truncated && whole.length <= maxLength) return whole;
  const room = maxLength - TRUNCATION_MARK.length - 1;
  let out = '';
  for (const piece of pieces) {
    if (out.length + piece.length > room) break;
    out += piece;
  }
  return out === '' ? TRUNCATION_MARK : `${out} ${TRUNCATION_MARK}`;
};

export const normalizeQuery = (sql: string, options: NormalizeOptions = {}): string => {
  const maxLength = Math.max(2, options.maxLength ?? DEFAULT_MAX_LENGTH);
  const maxInput = Math.max(maxLength + 2, options.maxInputChars ?? DEFAULT_MAX_INPUT);
  const truncated = sql.length > maxInput;
  const input = truncated ? sql.slice(0, maxInput) : sql;
  return fit(render(squashLists(toItems(tokenizeSql(input)))), maxLength, truncated);
};
