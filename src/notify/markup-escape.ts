/**
 * Text from the monitored world (summaries, titles, query text) goes into each channel's markup as
 * *text*: escaped so that `<script>`, `*bold*`, `<!here>` or `@everyone` arrive as characters, and
 * cut to the channel's limits with an ellipsis. Escapers work per code point, so a cut never
 * splits an escape sequence or a surrogate pair.
 */

const ELLIPSIS = '…';

/** Turns each code point of a text into what the markup needs (usually itself). */
export type Escaper = (codePoints: readonly string[], index: number) => string;

const asIs: Escaper = (codePoints, index) => codePoints[index] ?? '';

/**
 * `text` escaped, at most `max` UTF-16 units long (what JSON-speaking services count); when it
 * must be cut, whole escaped code points are kept and `…` ends it.
 */
export function fitEscaped(text: string, max: number, escape: Escaper = asIs): string {
  const codePoints = Array.from(text);
  const pieces = codePoints.map((_, index) => escape(codePoints, index));
  const whole = pieces.join('');
  if (whole.length <= max) return whole;
  let out = '';
  for (const piece of pieces) {
    if (out.length + piece.length > max - ELLIPSIS.length) break;
    out += piece;
  }
  return out + ELLIPSIS;
}

/** `text` cut to `max` UTF-16 units with an ellipsis, never inside a surrogate pair. */
export function truncate(text: string, max: number): string {
  return fitEscaped(text, max);
}

/** `text` cut to `maxBytes` of UTF-8 with an ellipsis (ntfy counts bytes). */
export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  const budget = maxBytes - encoder.encode(ELLIPSIS).length;
  let out = '';
  let used = 0;
  for (const codePoint of text) {
    const size = encoder.encode(codePoint).length;
    if (used + size > budget) break;
    out += codePoint;
    used += size;
  }
  return out + ELLIPSIS;
}

/** Slack: `&`, `<`, `>` are control characters in every text object (`<!here>`, `<url|label>`). */
export const slackEscaper: Escaper = (codePoints, index) => {
  const c = codePoints[index] ?? '';
  return c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c;
};

// Discord markdown: emphasis, code, spoilers, masked links, mentions and timestamps anywhere; quotes,
// headings, subtext and lists at the start of a line. A backslash before punctuation shows it.
const DISCORD_ANYWHERE = new Set(['\\', '*', '_', '~', '`', '|', '[', ']', '<', '@']);
const DISCORD_LINE_START = new Set(['>', '#', '-', '+']);

/** Discord: backslash before markdown punctuation, and before the dot of a numbered list (`1.`). */
export const discordEscaper: Escaper = (codePoints, index) => {
  const c = codePoints[index] ?? '';
  if (DISCORD_ANYWHERE.has(c)) return `\\${c}`;
  if (DISCORD_LINE_START.has(c) && lineStartBefore(codePoints, index) === index) return `\\${c}`;
  if (c === '.' && startsNumberedLine(codePoints, index)) return '\\.';
  return c;
};

/** Where the line's text starts, looking back from `index` over blanks; -1 when something else precedes. */
function lineStartBefore(codePoints: readonly string[], index: number): number {
  let i = index - 1;
  while (i >= 0 && (codePoints[i] === ' ' || codePoints[i] === '\t')) i--;
  return i < 0 || codePoints[i] === '\n' ? index : -1;
}

function startsNumberedLine(codePoints: readonly string[], dot: number): boolean {
  let i = dot - 1;
  if (i < 0 || !/[0-9]/.test(codePoints[i] ?? '')) return false;
  while (i >= 0 && /[0-9]/.test(codePoints[i] ?? '')) i--;
  return lineStartBefore(codePoints, i + 1) === i + 1;
}

/**
 * Teams: untrusted text goes only into `TextRun`s, which render no markdown; what they still
 * interpret is `{{DATE(…)}}`/`{{TIME(…)}}`, so a zero-width space splits every `{{`.
 */
export const teamsEscaper: Escaper = (codePoints, index) => {
  const c = codePoints[index] ?? '';
  return c === '{' && codePoints[index - 1] === '{' ? '\u200B{' : c;
};

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}

/**
 * Terminal text: control characters (ANSI escapes that could rewrite the operator's screen, and
 * line breaks that would forge a line) shown escaped, `\x1b` style.
 */
export function escapeControlCharacters(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Line breaks and runs of white space as one space: for one-line places (subjects, headers). */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
