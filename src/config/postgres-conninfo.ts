import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { redactUrl } from '../core/url-redaction.js';

export { redactUrl };

/**
 * PostgreSQL connection URIs as libpq (and so psql) reads them: `postgresql://user@/db?host=/var/run/postgresql`,
 * `postgres:///db?host=…`, a percent-encoded socket directory as the host, `?port=`, `?user=`,
 * `?dbname=`, `?password=`; what the URI leaves out comes from the `PG*` environment variables,
 * then libpq's defaults; the password, when still missing, from the password file (~/.pgpass).
 */

/** The `PG*` variables (and the password file's path): read here, passed on, never read elsewhere. */
export interface PgEnvironment {
  readonly host?: string;
  readonly port?: string;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  readonly sslmode?: string;
  /** `PGPASSFILE`, else `~/.pgpass`. */
  readonly passfile: string;
  /** libpq's default user: the operating-system user. */
  readonly osUser: string;
}

export function pgEnvironment(env: NodeJS.ProcessEnv = process.env): PgEnvironment {
  const pick = (name: string): { readonly [key: string]: string } => {
    const value = env[`PG${name.toUpperCase()}`];
    return value === undefined || value === '' ? {} : { [name]: value };
  };
  let osUser = env.USER ?? 'postgres';
  try {
    osUser = userInfo().username;
  } catch {
    // No passwd entry (a container's arbitrary uid): keep $USER.
  }
  return {
    ...pick('host'),
    ...pick('port'),
    ...pick('user'),
    ...pick('password'),
    ...pick('database'),
    ...pick('sslmode'),
    passfile: env.PGPASSFILE ?? join(env.HOME ?? homedir(), '.pgpass'),
    osUser,
  };
}

/** Where and as whom a URI connects, after the environment and defaults filled the gaps. */
export interface ConnInfo {
  /** A host name or address, or a Unix-socket directory (starts with `/`). */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | null;
  readonly database: string;
  /** Every other query parameter (sslmode, options, application_name…), as given. */
  readonly params: ReadonlyMap<string, string>;
}

export type ConnInfoResult =
  { readonly ok: true; readonly info: ConnInfo } | { readonly ok: false; readonly problem: string };

const URI = /^(postgres(?:ql)?):\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/;

const decode = (text: string): string => decodeURIComponent(text);

/** Reads a connection URI and fills what it leaves out from `env`, as libpq does. */
export function resolveConnInfo(uri: string, env: PgEnvironment): ConnInfoResult {
  const match = URI.exec(uri.trim());
  if (!match) {
    return /^[a-z][a-z0-9+.-]*:/i.test(uri) && !/^postgres(ql)?:/i.test(uri)
      ? {
          ok: false,
          problem: `the URL must start with postgres:// or postgresql:// (got "${redactUrl(uri)}"); expected postgres://user:password@host:5432/database`,
        }
      : {
          ok: false,
          problem: `"${redactUrl(uri)}" is not a PostgreSQL URL; expected postgres://user:password@host:5432/database`,
        };
  }
  const [, , authority = '', path = '', query = ''] = match;
  try {
    const at = authority.lastIndexOf('@');
    const userinfo = at === -1 ? '' : authority.slice(0, at);
    const hostport = at === -1 ? authority : authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    const uriUser = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
    const uriPassword = colon === -1 ? null : decode(userinfo.slice(colon + 1));
    const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(hostport);
    const plain = /^([^:]*)(?::(\d*))?$/.exec(hostport);
    const parts = bracketed ?? plain;
    if (!parts) return { ok: false, problem: `the host "${hostport}" is not host or host:port` };
    if (hostport.includes(','))
      return { ok: false, problem: 'several hosts in one URL are not supported; give one' };
    const params = new Map(new URLSearchParams(query));
    const take = (name: string): string | undefined => {
      const value = params.get(name);
      params.delete(name);
      return value === '' ? undefined : value;
    };
    const host = take('host') ?? (decode(parts[1] ?? '') || undefined) ?? env.host ?? 'localhost';
    const portText = take('port') ?? (parts[2] || undefined) ?? env.port ?? '5432';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65_535)
      return { ok: false, problem: `the port "${portText}" is not a port number` };
    const user = take('user') ?? (uriUser || undefined) ?? env.user ?? env.osUser;
    const password = take('password') ?? uriPassword ?? env.password ?? null;
    const database = take('dbname') ?? (decode(path.replace(/^\//, '')) || undefined) ?? env.database ?? user;
    if (env.sslmode !== undefined && !params.has('sslmode')) params.set('sslmode', env.sslmode);
    return { ok: true, info: { host, port, user, password, database, params } };
  } catch {
    return {
      ok: false,
      problem: `"${redactUrl(uri)}" has a bad %-escape; percent-encode special characters (e.g. @ as %40)`,
    };
  }
}

/** `db.internal:5432/shop`, or `/var/run/postgresql/.s.PGSQL.5432 shop` for a socket: never the password. */
export function connInfoLabel(info: Pick<ConnInfo, 'host' | 'port' | 'database'>): string {
  return `${connInfoAddress(info)}${info.host.startsWith('/') ? ' ' : '/'}${info.database}`;
}

/** `host:port`, or the socket file for a socket directory — what messages name. */
export function connInfoAddress(info: Pick<ConnInfo, 'host' | 'port'>): string {
  if (info.host.startsWith('/')) return `${info.host.replace(/\/$/, '')}/.s.PGSQL.${info.port}`;
  return `${info.host.includes(':') ? `[${info.host}]` : info.host}:${info.port}`;
}

/**
 * The password for `info` from a password file's text (`hostname:port:database:username:password`,
 * `*` matching anything, `\:` and `\\` escaped), as libpq reads it: the first matching line.
 * A socket connection matches the host `localhost`.
 */
export function pgpassPassword(
  text: string,
  info: Pick<ConnInfo, 'host' | 'port' | 'database' | 'user'>,
): string | null {
  const host = info.host.startsWith('/') ? 'localhost' : info.host;
  const wanted = [host, String(info.port), info.database, info.user];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields: string[] = [];
    let field = '';
    for (let i = 0; i < line.length; i += 1) {
      const char = line[i] ?? '';
      if (char === '\\' && i + 1 < line.length) {
        field += line[i + 1] ?? '';
        i += 1;
      } else if (char === ':' && fields.length < 4) {
        fields.push(field);
        field = '';
      } else {
        field += char;
      }
    }
    fields.push(field);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i] === '*' || fields[i] === value)) return fields[4] ?? null;
  }
  return null;
}
