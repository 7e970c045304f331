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
 * inferred from the lines themselves, and keeps the one that matches the most lines (the more
 * fields it reads, the better, on a tie). Null when none matches at least half of them.
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
    let matched = 0;
    for (const line of lines) {
      compiled.regex.lastIndex = 0;
      if (compiled.regex.test(line)) matched++;
    }
    const fields = compiled.escapes;
    if (best === null || matched > best.matched || (matched === best.matched && fields > best.fields)) {
      best = { prefix, matched, fields };
    }
  }
  if (best === null || best.matched * 2 < lines.length) return null;
  return { prefix: best.prefix, matched: best.matched, lines: lines.length };
}

/** Prefixes guessed from the text before the severity of session lines (the longest heads). */
function inferPrefixes(lines: readonly string[]): string[] {
  const heads = new Map<string, number>();
  for (const line of lines.slice(0, 100)) {
    const head = HEAD.exec(line)?.[1];
    if (head === undefined) continue;
    const prefix = inferPrefix(head);
    heads.set(prefix, (heads.get(prefix) ?? 0) + 1);
  }
  const out: string[] = [];
  for (const prefix of [...heads.keys()].sort((a, b) => b.length - a.length).slice(0, 3)) {
    const first = Math.min(
      ...SESSION_ESCAPES.map((escape) => prefix.indexOf(escape)).filter((index) => index >= 0),
    );
    if (Number.isFinite(first)) {
      // Non-session processes print nothing from `%q` on: try the prefix with `%q` there first,
      // since it matches their lines too (it wins a tie).
      const start = prefix.lastIndexOf(' ', first) + 1;
      if (start > 0) out.push(`${prefix.slice(0, start)}%q${prefix.slice(start)}`);
    }
    out.push(prefix);
  }
  return out;
}

function inferPrefix(head: string): string {
  const zone = '(?:[A-Za-z]{1,6}(?:[+-]\\d{1,2})?|[+-]\\d\\d(?::?\\d\\d)?)';
  let prefix = head.replaceAll('%', '%%');
  let timestamps = 0;
  prefix = prefix.replace(
    new RegExp(`\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d{3})? ${zone}`, 'g'),
    (_, millis: string | undefined) => (timestamps++ > 0 ? '%s' : millis ? '%m' : '%t'),
  );
  if (timestamps === 0) prefix = prefix.replace(/^\d{9,}\.\d{3}/, '%n');
  prefix = prefix
    .replace(/\b[0-9a-f]{5,}\.[0-9a-f]+\b/, '%c')
    .replace(/\b(user|usr|u)=[^,\s]*/, '$1=%u')
    .replace(/\b(db|database|d)=[^,\s]*/, '$1=%d')
    .replace(/\b(app|application|a)=[^,\s]*/, '$1=%a')
    .replace(/\b(client|host|remote|h)=[^,\s]*/, '$1=%h')
    .replace(/[\w.:-]+\(\d+\)/, '%r')
    .replace(/\[local\]/, '%r')
    .replace(/[^\s@/:[\]=,<>()]+([@/])[^\s@/:[\]=,<>()]+/, '%u$1%d');
  let numbers = 0;
  // The first bare number is the pid, the second a session line number; the rest stay literal.
  prefix = prefix.replace(/(?<![%\w.])\d+(?![\w.])/g, (digits) => {
    numbers++;
    return numbers === 1 ? '%p' : numbers === 2 ? '%l' : digits;
  });
  return prefix;
}
