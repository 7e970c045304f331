import { COMMON_PREFIXES, compileLinePrefix, type PrefixField } from './line-prefix.js';

export interface DetectedPrefix {
  readonly prefix: string;
  /** Lines (other than tab continuations) that the prefix matched, of `lines` looked at. */
  readonly matched: number;
  readonly lines: number;
}

const MAX_LINES = 500;
const HEAD = /^(.*?)(?:LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG|DETAIL|HINT|CONTEXT|STATEMENT): {2}/;
const SESSION_ESCAPES = ['%u', '%d', '%a', '%h', '%r', '%i'];
const NAME_FIELDS: ReadonlySet<PrefixField> = new Set<PrefixField>([
  'user',
  'database',
  'application',
  'client',
]);
/** `connection authorized: user=… database=… application_name=…`: the values its head must hold. */
const AUTHORIZED =
  /connection authorized: user=(\S+)(?: database=(\S+))?(?: application_name=(.+?))?(?: SSL enabled| GSS|$)/;

interface Scored {
  readonly prefix: string;
  readonly matched: number;
  readonly spaced: number;
  readonly fields: number;
  /** What the prefix reads, in order (two readings differing only in `%q` or literals read alike). */
  readonly reads: string;
}

/** Better first: more lines matched; on a tie, fewer names with spaces, then more values read. */
const better = (a: Scored, b: Scored): boolean =>
  a.matched > b.matched ||
  (a.matched === b.matched && (a.spaced < b.spaced || (a.spaced === b.spaced && a.fields > b.fields)));

/** How well a prefix reads the lines (null when a `%e` reading is refuted or nothing matched). */
function score(prefix: string, lines: readonly string[]): Scored | null {
  const compiled = compileLinePrefix(prefix);
  const sqlstateGroup = compiled.fields.indexOf('sqlstate') + 1;
  let matched = 0;
  // Values the prefix read, over all lines: a `%q` part that no line has reads none.
  let fields = 0;
  // Names read with a space in them: a reading that takes `shop checkout` for the database
  // (a `%d` followed by an `%a` it does not know) has more of them than the right one.
  let spaced = 0;
  for (const line of lines) {
    compiled.regex.lastIndex = 0;
    const match = compiled.regex.exec(line);
    if (match === null) continue;
    // %e prints 00000 for a LOG entry: a reading that puts anything else there (a five-digit
    // pid, say) is not the prefix.
    if (sqlstateGroup > 0 && match[compiled.severityGroup] === 'LOG' && match[sqlstateGroup] !== '00000')
      return null;
    matched++;
    for (let group = 1; group < compiled.severityGroup; group++) {
      const value = match[group];
      if (value === undefined) continue;
      fields++;
      if (NAME_FIELDS.has(compiled.fields[group - 1] ?? 'other') && value.trim().includes(' ')) spaced++;
    }
  }
  return matched === 0 ? null : { prefix, matched, spaced, fields, reads: compiled.fields.join(',') };
}

/** The best of the candidates on these lines (on a full tie, the earlier candidate). */
function bestOf(candidates: Iterable<string>, lines: readonly string[]): Scored | null {
  let best: Scored | null = null;
  for (const prefix of candidates) {
    const scored = score(prefix, lines);
    if (scored !== null && (best === null || better(scored, best))) best = scored;
  }
  return best;
}

/**
 * The readings of a stderr log's lines, best first, each with the lines it matched: the common
 * prefixes and ones inferred from the lines themselves. The second (with `count` 2) is the best
 * reading of the lines the first did not read — a prefix changed by a reload, another cluster's
 * lines — when there are such lines.
 */
export function rankLinePrefixes(sample: Buffer | string, count = 2): DetectedPrefix[] {
  const text = typeof sample === 'string' ? sample : sample.toString('utf8');
  const lines: string[] = [];
  const split = text.split('\n');
  // A sample cut mid-line (the first 64 KiB of a file): its last line is not a whole one.
  if (split.length > 1 && !text.endsWith('\n')) split.pop();
  for (const line of split) {
    if (line === '' || line.startsWith('\t')) continue;
    lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (lines.length >= MAX_LINES) break;
  }
  if (lines.length === 0) return [];
  // Common prefixes first: on a tie, a known prefix beats an inferred one.
  const candidates = new Set<string>([...COMMON_PREFIXES, ...inferPrefixes(lines)]);
  const best = bestOf(candidates, lines);
  if (best === null) return [];
  const out: DetectedPrefix[] = [{ prefix: best.prefix, matched: best.matched, lines: lines.length }];
  if (count < 2 || best.matched === lines.length) return out;
  const compiled = compileLinePrefix(best.prefix);
  const unread = lines.filter((line) => {
    compiled.regex.lastIndex = 0;
    return compiled.regex.exec(line) === null;
  });
  const others = new Set<string>([...candidates, ...inferPrefixes(unread)]);
  others.delete(best.prefix);
  const next = bestOf(others, unread);
  const overall = next === null ? null : score(next.prefix, lines);
  if (overall !== null) out.push({ prefix: overall.prefix, matched: overall.matched, lines: lines.length });
  return out;
}

/**
 * Finds the `log_line_prefix` a stderr log was written with: the best of `rankLinePrefixes`. Null
 * when none matches at least half of the lines.
 */
export function detectLinePrefix(sample: Buffer | string): DetectedPrefix | null {
  const best = rankLinePrefixes(sample, 1)[0];
  return best === undefined || best.matched * 2 < best.lines ? null : best;
}

/**
 * When the prefix found does not read every line (or none was found), what to tell the user: the
 * two best readings with the lines each matched, and the exact flags that choose one. Null when
 * the best reading matched every line.
 */
export function describePrefixDoubt(sample: Buffer | string, format: string): string | null {
  const [best, next] = rankLinePrefixes(sample, 2);
  if (best === undefined || best.matched === best.lines) return null;
  const reading = (r: DetectedPrefix) => `'${r.prefix}' (${r.matched} of ${r.lines} lines)`;
  const flag = (r: DetectedPrefix) => `--log-format ${format} --log-prefix '${r.prefix}'`;
  const readings = next === undefined ? reading(best) : `${reading(best)} and ${reading(next)}`;
  return `the log_line_prefix is not certain: the best readings of the first lines are ${readings}; if the server's log_line_prefix is another, pass it: ${flag(best)}${next === undefined ? '' : ` or ${flag(next)}`}`;
}

/** Prefixes guessed from the text before the severity of session lines (the longest heads). */
function inferPrefixes(lines: readonly string[]): string[] {
  const heads = new Set<string>();
  for (const line of lines.slice(0, 100)) {
    const head = HEAD.exec(line)?.[1];
    if (head !== undefined) heads.add(head);
  }
  // The longest heads are session lines, with the most fields to read.
  const chosen: { head: string; known: SessionValues | null }[] = [...heads]
    .sort((a, b) => b.length - a.length)
    .slice(0, 3)
    .map((head) => ({ head, known: null }));
  // A `connection authorized` line names its session's user, database and application: its head
  // tells which escape printed which word (`%d %u %a`, padded or not), whatever the separators.
  let authorized = 0;
  for (const line of lines) {
    if (authorized >= 3) break;
    const found = AUTHORIZED.exec(line);
    const head = found === null ? undefined : HEAD.exec(line)?.[1];
    if (found === null || head === undefined) continue;
    const known = { user: found[1] ?? '', database: found[2] ?? null, application: found[3] ?? null };
    // `postgres@postgres`: which is which cannot be told.
    if (known.user === known.database || known.user === known.application) continue;
    authorized++;
    chosen.push({ head, known });
  }
  const out: string[] = [];
  for (const { head, known } of chosen) {
    // A bare word may be a command tag or literal text: both readings are candidates.
    const readings = inferPrefix(head, known);
    if (BARE_TAG.test(head)) readings.push(...inferPrefix(head, known, true));
    for (const prefix of readings) {
      const first = Math.min(
        ...SESSION_ESCAPES.map((escape) => prefix.indexOf(escape)).filter((index) => index >= 0),
      );
      if (Number.isFinite(first)) {
        // Non-session processes print nothing from `%q` on: a variant with `%q` there matches their
        // lines too. The plain one is tried first: when every line has the session part (the
        // prefix has no `%q`, as `usr=,db=` shows), it reads them as exactly and wins the tie.
        // (A prefix that opens with them, as under syslog whose envelope has the time and pid, too.)
        // `%q` may stand anywhere in the spaces before that part ('pid=%p %q db=%d').
        // Or before a later one ('%r %q%u@%d'): each session part's spaces are tried.
        out.push(prefix);
        const starts = new Set<number>();
        for (const escape of SESSION_ESCAPES) {
          for (let at = prefix.indexOf(escape, first); at >= 0; at = prefix.indexOf(escape, at + 1))
            starts.add(prefix.lastIndexOf(' ', at) + 1);
        }
        for (const start of [...starts].sort((a, b) => a - b)) {
          let run = start;
          while (run > 0 && prefix[run - 1] === ' ') run--;
          for (let at = start; at >= run; at--) out.push(`${prefix.slice(0, at)}%q${prefix.slice(at)}`);
        }
        continue;
      }
      out.push(prefix);
    }
  }
  return out;
}

// `UTC-6b04d116.17f4` ('%t-%c-'): the zone is `UTC`, not `UTC-6`.
const ZONE = '(?:[A-Za-z]{1,6}(?:[+-]\\d{1,2}(?![\\w.]))?|[+-]\\d\\d(?::?\\d\\d)?)';
const TIMESTAMP = new RegExp(`\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d{3})? ${ZONE}`, 'g');
/** Bare numbers (pid, line number, transaction id…) and SQLSTATE-like codes (`00000`, `40P01`). */
const CODE = /(?<![%\w.])(?:\d+|(?=[0-9A-Z]*\d)[0-9A-Z]{5})(?![\w.])/g;
const MAX_VARIANTS = 24;
/** A command tag without parentheses ('%m [%p] %i '): `UPDATE waiting`, `idle`, `authentication`. */
const BARE_TAG =
  /(?<=^|[\s\]])(?:idle in transaction(?: \(aborted\))?|idle|authentication|startup|[A-Z]{2,}(?: [A-Z]+)*)(?: waiting)?(?= )/;
const BACKEND_TYPE =
  /\b(?:client backend|autovacuum launcher|autovacuum worker|logical replication launcher|logical replication worker|parallel worker|background writer|background worker|checkpointer|walwriter|walsender|walreceiver|walsummarizer|archiver|postmaster|syslogger|io worker|slotsync worker|standalone backend)\b/;

interface SessionValues {
  readonly user: string;
  readonly database: string | null;
  readonly application: string | null;
}

/** `key=value` in a head: the escape the key names (`user=`, `db=`, `client=`…), else as it is. */
function keyValue(text: string, key: string, value: string): string {
  if (value.startsWith('%')) return text;
  const name = key.toLowerCase();
  let escape: string | null = null;
  if (/^(?:user\w*|usr|role|u)$/.test(name)) escape = '%u';
  else if (/^(?:db\w*|database|d)$/.test(name)) escape = '%d';
  else if (/^(?:app\w*|a)$/.test(name)) escape = '%a';
  else if (/^(?:client|host|remote|h|r|from|ip)$/.test(name))
    escape = value.includes('(') ? '%r' : value === '[local]' && name === 'remote' ? '%r' : '%h';
  else if (/^(?:session|sid|c)$/.test(name) && value.includes('.')) escape = '%c';
  else if (/^(?:vxid|v)$/.test(name)) escape = '%v';
  else if (/^(?:error|sqlstate|state|code|e)$/.test(name) && /^[0-9A-Z]{5}$/.test(value)) escape = '%e';
  return escape === null ? text : `${key}=${escape}`;
}

/** Marks the words a `connection authorized` line names; a name followed by 2+ spaces is padded (`%-10u`). */
function markSessionValues(prefix: string, known: SessionValues): string {
  const values: [string, string][] = [['u', known.user]];
  if (known.database !== null) values.push(['d', known.database]);
  if (known.application !== null) values.push(['a', known.application]);
  let out = prefix;
  for (const [code, value] of values.sort((a, b) => b[1].length - a[1].length)) {
    if (value === '') continue;
    const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('%', '%%');
    const mark = (_: string, before: string, spaces: string | undefined): string =>
      spaces === undefined ? `${before}%${code}` : `${before}%-${value.length + spaces.length - 1}${code} `;
    const marked = out.replace(new RegExp(`(^|[^\\w.%-])${escaped}(?:( {2,})|(?=[^\\w.-]|$))`), mark);
    // A name may hold a `-`: it bounds one only when nothing else does ('%h-%u-%d-%m').
    out =
      marked !== out
        ? marked
        : out.replace(new RegExp(`(^|[^\\w.%])${escaped}(?:( {2,})|(?=[^\\w.]|$))`), mark);
  }
  // The application name is set after authentication: the line that names it prints `[unknown]`.
  if (known.application !== null && !out.includes('%a')) out = out.replace('[unknown]', '%a');
  return out;
}

/**
 * The prefixes a line head could have been written with. What a value is cannot always be told
 * from one line — `4242` may be the pid or a line number, `00000` the SQLSTATE or a transaction
 * id — so each reading is a candidate and `detectLinePrefix` keeps the one that matches most lines.
 */
function inferPrefix(head: string, known: SessionValues | null, bareTag = false): string[] {
  let prefix = head.replaceAll('%', '%%');
  // The log time has milliseconds (%m) or is the first time (%t); another one is the session start (%s).
  const stamps = [...prefix.matchAll(TIMESTAMP)];
  const logTime = stamps.find((stamp) => stamp[1] !== undefined) ?? stamps[0];
  prefix = prefix.replace(TIMESTAMP, (text: string, millis: string | undefined, offset: number) =>
    offset === logTime?.index ? (millis ? '%m' : '%t') : '%s',
  );
  if (stamps.length === 0) prefix = prefix.replace(/^\d{9,}\.\d{3}/, '%n');
  // `%n` beside the times too (`1763941783.017 2026-…`), before `%c` takes it: its digits are hex.
  else prefix = prefix.replace(/(?<![\w.%])\d{10}\.\d{3}(?![\w.])/, '%n');
  if (known !== null) prefix = markSessionValues(prefix, known);
  prefix = prefix
    .replace(/\b[0-9a-f]{5,}\.[0-9a-f]+\b/, '%c')
    // `%v/%x` (`3/12/0`) and a virtual transaction id (`3/12`), before `user/db` can take them.
    .replace(/(?<![\w./%])\d+\/\d+\/\d+(?![\w./])/, '%v/%x')
    .replace(/(?<![\w./%])\d+\/\d+(?![\w./])/, '%v')
    .replace(
      /\((idle in transaction(?: \(aborted\))?|idle|authentication|startup|[A-Z]+(?: [A-Z]+)*)\)/,
      '(%i)',
    )
    .replace(BACKEND_TYPE, '%b')
    .replace(/\b([A-Za-z_]\w*)=(\[unknown\]|\[local\]|[^,\s\]]*)/g, keyValue)
    .replace(/(?:\d{1,3}(?:\.\d{1,3}){3}|[\w:-]*:[\w:]*:[\w:]*|[\w.-]+)\(\d+\)/g, '%r')
    .replace(/(?<![\w.%])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])/g, '%h')
    .replace(/\[local\]/, '%r')
    // `user@db`, `user@db/app` (as in '%u@%d/%a'), `user/db`.
    .replace(
      /(\[unknown\]|[^\s@/:[\]=,<>()%]+)([@/])(\[unknown\]|[^\s@/:[\]=,<>()%]+)(\/\S+)?/,
      (_, _user: string, separator: string, _db: string, app: string | undefined) =>
        `%u${separator}%d${app === undefined ? '' : '/%a'}`,
    );
  if (bareTag) prefix = prefix.replace(BARE_TAG, '%i');
  // Each code gets a reading: the pid (once), a SQLSTATE (five characters), another number
  // (%l: line number, transaction id…), or literal text.
  const codes = [...prefix.matchAll(CODE)].slice(0, 4);
  let variants: { text: string; pid: boolean; end: number }[] = [{ text: '', pid: false, end: 0 }];
  for (const code of codes) {
    const value = code[0];
    const readings = /^\d+$/.test(value)
      ? ['%p', '%l', ...(value.length === 5 ? ['%e'] : []), value]
      : ['%e', value];
    const next: typeof variants = [];
    for (const variant of variants) {
      for (const reading of readings) {
        if (reading === '%p' && variant.pid) continue;
        next.push({
          text: variant.text + prefix.slice(variant.end, code.index) + reading,
          pid: variant.pid || reading === '%p',
          end: code.index + value.length,
        });
      }
    }
    // The likeliest first: a pid, then fewer literals.
    variants = next.sort((a, b) => Number(b.pid) - Number(a.pid)).slice(0, MAX_VARIANTS);
  }
  // `%l-1` (pgBadger's advice): the second number is the literal 1, not another line number.
  return [
    ...new Set(
      variants.map((variant) => (variant.text + prefix.slice(variant.end)).replace('%l-%l]', '%l-1]')),
    ),
  ];
}
