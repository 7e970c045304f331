/**
 * Channel settings hold secrets in plain sight: a Slack, Discord or Teams webhook URL *is* its
 * token, an ntfy topic is a password. Nothing of them may reach a log, an error or the timeline.
 */

const REDACTED = '***';

/** A secret setting as listings show it: a URL keeps its origin (`https://hooks.slack.com/***`). */
export function redactSecretValue(value: unknown): string {
  if (typeof value === 'string') {
    const url = parseUrl(value);
    if (url !== null && url.origin !== 'null') return `${url.origin}/${REDACTED}`;
  }
  return REDACTED;
}

/** The host a URL points at (`hooks.slack.com`), the most a message may say about where it went. */
export function hostOf(url: string): string {
  return parseUrl(url)?.host ?? 'an unparsable URL';
}

/**
 * `text` with every secret — and, for URL secrets, their path, query and user info, raw or
 * percent-encoded — replaced by `***`. For reasons built from a receiver's answer or a library's
 * error, which may echo what they were sent.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    addNeedle(needles, secret);
    const url = parseUrl(secret);
    if (url !== null) {
      addNeedle(needles, url.pathname + url.search);
      addNeedle(needles, url.search);
      addNeedle(needles, url.password);
      addNeedle(needles, decodeSafely(url.password));
      // A token alone (a Discord webhook's last segment) is long; short segments are words.
      for (const segment of url.pathname.split('/')) if (segment.length >= 16) addNeedle(needles, segment);
    }
  }
  // Longest first, so a URL is replaced whole rather than piece by piece.
  let scrubbed = text;
  for (const needle of [...needles].sort((a, b) => b.length - a.length)) {
    scrubbed = scrubbed.split(needle).join(REDACTED);
    const encoded = encodeURIComponent(needle);
    if (encoded !== needle) scrubbed = scrubbed.split(encoded).join(REDACTED);
  }
  return scrubbed;
}

// Short pieces (`/`, `api`, `v2`) are not secrets, and replacing them would garble the message.
const MIN_SECRET_LENGTH = 6;

function addNeedle(needles: Set<string>, value: string): void {
  if (value.length >= MIN_SECRET_LENGTH) needles.add(value);
}

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

function decodeSafely(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
