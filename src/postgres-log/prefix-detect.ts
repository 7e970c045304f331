import { COMMON_PREFIXES, compileLinePrefix } from './line-prefix.js';

export interface DetectedPrefix {
  readonly prefix: string;
  /** Lines (other than tab continuations) that the prefix matched, of `lines` looked at. */
  readonly matched: number;
  readonly lines: number;
}

const MAX_LINES = 500;
const HEAD = /^(.*?)(?:LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG|DETAIL|HINT|CONTEXT|STATEMENT): {2}/;
const SESSION_ESCAPES = ['%u', '%d', '%a', '%h', '%r'];

/**
 * Finds the `log_line_prefix` a stderr log was written with: tries the common ones and one
 * inferred from the lines themselves, and keeps the one that matches the most lines (on a tie,
 * the one reading more event fields, then the common one). Null when none matches at least half of them.
 */
export function detectLinePrefix(sample: Buffer | string): DetectedPrefix | null {
  const text = typeof sample === 'string' ? sample : sample.toString('utf8');
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('\t')) continue;
    lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (lines.length >= MAX_LINES) break;
  }
  if (lines.length === 0) return null;
  // Common prefixes first: on a tie, a known prefix beats an inferred one.
  const candidates = new Set<string>([...COMMON_PREFIXES, ...inferPrefixes(lines)]);
  let best: { prefix: string; matched: number; fields: number } | null = null;
  for (const prefix of candidates) {
    const compiled = compileLinePrefix(prefix);
    const sqlstateGroup = compiled.fields.indexOf('sqlstate') + 1;
    let matched = 0;
    // Values the prefix read, over all lines: a `%q` part that no line has reads none.
    let fields = 0;
    for (const line of lines) {
      compiled.regex.lastIndex = 0;
      const match = compiled.regex.exec(line);
      if (match === null) continue;
      // %e prints 00000 for a LOG entry: a reading that puts anything else there (a five-digit
      // pid, say) is not the prefix.
      if (sqlstateGroup > 0 && match[compiled.severityGroup] === 'LOG' && match[sqlstateGroup] !== '00000') {
        matched = -1;
        break;
      }
      matched++;
      for (let group = 1; group < compiled.severityGroup; group++) if (match[group] !== undefined) fields++;
    }
    // On a tie, the prefix that reads more of what events carry (a `%l` or `%x` reads nothing).
    if (best === null || matched > best.matched || (matched === best.matched && fields > best.fields)) {
      best = { prefix, matched, fields };
    }
  }
  if (best === null || best.matched * 2 < lines.length) return null;
  return { prefix: best.prefix, matched: best.matched, lines: lines.length };
}

/** Prefixes guessed from the text before the severity of session lines (the longest heads). */
function inferPrefixes(lines: readonly string[]): string[] {
  const heads = new Set<string>();
  for (const line of lines.slice(0, 100)) {
    const head = HEAD.exec(line)?.[1];
    if (head !== undefined) heads.add(head);
  }
  const out: string[] = [];
  // The longest heads are session lines, with the most fields to read.
  for (const head of [...heads].sort((a, b) => b.length - a.length).slice(0, 3)) {
    for (const prefix of inferPrefix(head)) {
      const first = Math.min(
        ...SESSION_ESCAPES.map((escape) => prefix.indexOf(escape)).filter((index) => index >= 0),
      );
      if (Number.isFinite(first)) {
        // Non-session processes print nothing from `%q` on: a variant with `%q` there matches their
        // lines too. The plain one is tried first: when every line has the session part (the
        // prefix has no `%q`, as `usr=,db=` shows), it reads them as exactly and wins the tie.
        // (A prefix that opens with them, as under syslog whose envelope has the time and pid, too.)
        const start = prefix.lastIndexOf(' ', first) + 1;
        out.push(prefix, `${prefix.slice(0, start)}%q${prefix.slice(start)}`);
        continue;
      }
      out.push(prefix);
    }
  }
  return out;
}

const ZONE = '(?:[A-Za-z]{1,6}(?:[+-]\\d{1,2})?|[+-]\\d\\d(?::?\\d\\d)?)';
const TIMESTAMP = new RegExp(`\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d{3})? ${ZONE}`, 'g');
/** Bare numbers (pid, line number, transaction id…) and SQLSTATE-like codes (`00000`, `40P01`). */
const CODE = /(?<![%\w.])(?:\d+|(?=[0-9A-Z]*\d)[0-9A-Z]{5})(?![\w.])/g;
const MAX_VARIANTS = 24;

/**
 * The prefixes a line head could have been written with. What a value is cannot always be told
 * from one line — `4242` may be the pid or a line number, `00000` the SQLSTATE or a transaction
 * id — so each reading is a candidate and `detectLinePrefix` keeps the one that matches most lines.
 */
function inferPrefix(head: string): string[] {
  let prefix = head.replaceAll('%', '%%');
  // The log time has milliseconds (%m) or is the first time (%t); another one is the session start (%s).
  const stamps = [...prefix.matchAll(TIMESTAMP)];
  const logTime = stamps.find((stamp) => stamp[1] !== undefined) ?? stamps[0];
  prefix = prefix.replace(TIMESTAMP, (text: string, millis: string | undefined, offset: number) =>
    offset === logTime?.index ? (millis ? '%m' : '%t') : '%s',
  );
  if (stamps.length === 0) prefix = prefix.replace(/^\d{9,}\.\d{3}/, '%n');
  prefix = prefix
    .replace(/\b[0-9a-f]{5,}\.[0-9a-f]+\b/, '%c')
    .replace(/\b(user\w*|usr|role|u)=[^,\s]*/, '$1=%u')
    .replace(/\b(db\w*|database|d)=[^,\s]*/, '$1=%d')
    .replace(/\b(app\w*|a)=[^,\s]*/, '$1=%a')
    .replace(/\b(client|host|remote|h)=[^,\s]*/, '$1=%h')
    .replace(/[\w.:-]+\(\d+\)/, '%r')
    .replace(/\[local\]/, '%r')
    // `user@db`, `user@db/app` (as in '%u@%d/%a'), `user/db`.
    .replace(
      /[^\s@/:[\]=,<>()]+([@/])[^\s@/:[\]=,<>()]+(\/\S+)?/,
      (_, separator: string, app: string | undefined) => `%u${separator}%d${app === undefined ? '' : '/%a'}`,
    );
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
