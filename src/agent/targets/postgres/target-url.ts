import { userError, type HindsightError } from '../../../core/errors.js';

/** What a target URL says, checked; `connectionString` has our own session settings removed. */
export interface TargetUrl {
  readonly connectionString: string;
  /** The URL with its password replaced by `***`, for messages and logs. */
  readonly redacted: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly host: string;
  readonly port: number;
  /** `options` the URL carried (e.g. a cloud endpoint id); ours are appended to them. */
  readonly options: string | null;
}

/**
 * Settings that the monitor connection sets itself: a URL must not be able to lift the
 * statement or lock timeout, nor hide the agent under another application_name.
 */
const OURS = ['application_name', 'statement_timeout', 'lock_timeout', 'options'] as const;

export function parseTargetUrl(url: string): TargetUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw malformed(url, 'it is not a URL', cause);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw malformed(url, `the scheme is "${parsed.protocol}", not postgres: or postgresql:`);
  }
  let database: string | null;
  let user: string | null;
  try {
    database = parsed.pathname.length > 1 ? decodeURIComponent(parsed.pathname.slice(1)) : null;
    user = parsed.username === '' ? null : decodeURIComponent(parsed.username);
  } catch (cause) {
    throw malformed(url, 'it has a bad %-escape', cause);
  }
  const port = parsed.port === '' ? 5432 : Number(parsed.port);
  const options = parsed.searchParams.get('options');
  for (const name of OURS) parsed.searchParams.delete(name);
  const host = parsed.hostname === '' ? (parsed.searchParams.get('host') ?? 'localhost') : parsed.hostname;
  return {
    connectionString: parsed.toString(),
    redacted: redactUrl(url),
    user,
    database,
    host,
    port,
    options,
  };
}

/** The URL with any password hidden (never print a target URL without this). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    for (const key of ['password', 'sslpassword'])
      if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return '<malformed URL>';
  }
}

function malformed(url: string, why: string, cause?: unknown): HindsightError {
  const shown = url.includes('@') ? '<redacted>' : JSON.stringify(url);
  return userError(
    'TARGET_URL_INVALID',
    `The PostgreSQL URL ${shown} is malformed: ${why}. Write it as postgres://user:password@host:5432/database ` +
      '(percent-encode special characters in the password, e.g. @ as %40).',
    cause,
  );
}
