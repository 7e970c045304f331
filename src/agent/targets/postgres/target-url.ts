import { userError, type HindsightError } from '../../../core/errors.js';
import {
  connInfoAddress,
  connInfoLabel,
  redactUrl,
  resolveConnInfo,
  type ConnInfo,
  type PgEnvironment,
} from '../../../config/postgres-conninfo.js';

export { redactUrl };

/** What a target URL says, checked and completed as libpq would; our own session settings removed. */
export interface TargetUrl {
  /** The connection string pg is given, with every field explicit (pg then reads no `PG*` variable). */
  connectionString(password: string | null): string;
  /** The URL with its password replaced by `***`, for messages and logs. */
  readonly redacted: string;
  readonly user: string;
  readonly database: string;
  /** A host name or address, or a Unix-socket directory. */
  readonly host: string;
  readonly port: number;
  /** The password from the URL or PGPASSWORD; null: look in `passfile`. */
  readonly password: string | null;
  /** The password file (~/.pgpass), read when no password was given. */
  readonly passfile: string | null;
  /** `host:port`, or the socket file: what messages name. */
  readonly address: string;
  /** `host:port/database` or `socket database`, for a default display name. */
  readonly label: string;
  /** `options` the URL carried (e.g. a cloud endpoint id); ours are appended to them. */
  readonly options: string | null;
}

/**
 * Settings that the monitor connection sets itself: a URL must not be able to lift the
 * statement or lock timeout, nor hide the agent under another application_name.
 */
const OURS = ['application_name', 'statement_timeout', 'lock_timeout', 'options'] as const;

/** No `PG*` variables: a URL used as written (libpq's defaults fill the rest). */
const NO_ENVIRONMENT: PgEnvironment = { passfile: '', osUser: 'postgres' };

/** `env`: the `PG*` variables config/ read (`pgEnvironment()`), as psql would use them. */
export function parseTargetUrl(url: string, env: PgEnvironment = NO_ENVIRONMENT): TargetUrl {
  const resolved = resolveConnInfo(url, env);
  if (!resolved.ok) throw malformed(url, resolved.problem);
  const info: ConnInfo = resolved.info;
  const params = new Map(info.params);
  const options = params.get('options') ?? null;
  for (const name of OURS) params.delete(name);
  const query = new URLSearchParams([...params]);
  return {
    connectionString(password) {
      const auth = `${encodeURIComponent(info.user)}${password === null ? '' : `:${encodeURIComponent(password)}`}@`;
      const database = `/${encodeURIComponent(info.database)}`;
      if (info.host.startsWith('/')) {
        // pg reads a socket directory from `?host=` (an empty host in the authority).
        const socket = new URLSearchParams([['host', info.host], ['port', String(info.port)], ...params]);
        return `postgres://${auth}${database}?${socket.toString()}`;
      }
      const host = info.host.includes(':') ? `[${info.host}]` : info.host;
      const rest = query.size === 0 ? '' : `?${query.toString()}`;
      return `postgres://${auth}${host}:${info.port}${database}${rest}`;
    },
    redacted: redactUrl(url),
    user: info.user,
    database: info.database,
    host: info.host,
    port: info.port,
    password: info.password,
    passfile: env.passfile === '' ? null : env.passfile,
    address: connInfoAddress(info),
    label: connInfoLabel(info),
    options,
  };
}

function malformed(url: string, why: string): HindsightError {
  const shown = url.includes('@') ? '<redacted>' : JSON.stringify(url);
  return userError(
    'TARGET_URL_INVALID',
    `The PostgreSQL URL ${shown} is malformed: ${why}. Write it as postgres://user:password@host:5432/database ` +
      'or postgresql://user@/database?host=/var/run/postgresql (percent-encode special characters in the password, e.g. @ as %40).',
  );
}
