import { describe, expect, it } from 'vitest';
import {
  pgpassPassword,
  redactUrl,
  resolveConnInfo,
  type PgEnvironment,
} from '../../../src/config/postgres-conninfo.js';
import { parseAgentOptions, parseServeOptions } from '../../../src/config/server-options.js';
import { parseWatchOptions } from '../../../src/config/watch-options.js';
import { HindsightError } from '../../../src/core/errors.js';

describe('parseWatchOptions', () => {
  it('fills defaults and derives a display name without the password', () => {
    const options = parseWatchOptions({ url: 'postgres://mon:s3cret@db.internal:5433/shop' }, {});
    expect(options).toMatchObject({
      name: 'db.internal:5433/shop',
      intervalMs: 1000,
      logPath: null,
      json: false,
      rawQueries: false,
      blockingThresholdMs: 1000,
      idleInTransactionMs: 30_000,
      longTransactionMs: 300_000,
    });
    expect(options.name).not.toContain('s3cret');
  });

  it('converts seconds given as strings (as commander passes them)', () => {
    const options = parseWatchOptions(
      { url: 'postgresql://localhost/x', interval: '0.5', idleInTransaction: '10' },
      {},
    );
    expect(options.intervalMs).toBe(500);
    expect(options.idleInTransactionMs).toBe(10_000);
  });

  it('rejects a malformed URL with a user error that shows the expected shape and hides the password', () => {
    let caught: unknown;
    try {
      parseWatchOptions({ url: 'mysql://root:hunter2@db/x' }, {});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HindsightError);
    expect((caught as HindsightError).kind).toBe('user');
    expect((caught as HindsightError).message).toContain('postgres://');
    expect(() => parseWatchOptions({ url: 'not a url at all' }, {})).toThrow(
      /expected postgres:\/\/user:password@host/,
    );
  });

  it('reports every problem at once', () => {
    expect(() => parseWatchOptions({ url: 'nope', interval: '-1', logFormat: 'xml' as 'auto' }, {})).toThrow(
      /invalid options:[\s\S]*not a PostgreSQL URL[\s\S]*--log-format[\s\S]*--interval/,
    );
  });

  it('takes the raw-queries opt-in from the environment', () => {
    expect(parseWatchOptions({ url: 'postgres://h/d' }, { HINDSIGHT_RAW_QUERIES: '1' }).rawQueries).toBe(
      true,
    );
  });
});

describe('connection strings as psql takes them', () => {
  const env = (over: Partial<PgEnvironment> = {}): PgEnvironment => ({
    passfile: '/nonexistent',
    osUser: 'alice',
    ...over,
  });
  const info = (uri: string, e = env()) => {
    const resolved = resolveConnInfo(uri, e);
    if (!resolved.ok) throw new Error(resolved.problem);
    return resolved.info;
  };

  it('reads a socket directory from ?host= with an empty authority host, and names the socket', () => {
    expect(info('postgresql://mon@/shop?host=/var/run/postgresql')).toMatchObject({
      host: '/var/run/postgresql',
      port: 5432,
      user: 'mon',
      database: 'shop',
      password: null,
    });
    expect(info('postgres:///shop?host=%2Ftmp&port=6000')).toMatchObject({
      host: '/tmp',
      port: 6000,
      user: 'alice',
      database: 'shop',
    });
    expect(info('postgresql://%2Fvar%2Frun%2Fpostgresql/shop').host).toBe('/var/run/postgresql');
    const options = parseWatchOptions({ url: 'postgresql://mon@/shop?host=/var/run/postgresql' }, {});
    expect(options.name).toBe('/var/run/postgresql/.s.PGSQL.5432 shop');
  });

  it('fills what the URL leaves out from PG* variables, the URL winning, as libpq does', () => {
    const fromEnv = env({
      host: 'db.env',
      port: '6543',
      user: 'envuser',
      password: 'envpw',
      database: 'envdb',
    });
    expect(info('postgres://', fromEnv)).toMatchObject({
      host: 'db.env',
      port: 6543,
      user: 'envuser',
      password: 'envpw',
      database: 'envdb',
    });
    expect(info('postgres://u:p@h:1/d', fromEnv)).toMatchObject({
      host: 'h',
      port: 1,
      user: 'u',
      password: 'p',
      database: 'd',
    });
    // No URL at all, as `psql` with PG* set.
    const options = parseWatchOptions(
      {},
      { PGHOST: '/run/pg', PGUSER: 'mon', PGDATABASE: 'shop', PGPASSFILE: '/x/pgpass' },
    );
    expect(options.name).toBe('/run/pg/.s.PGSQL.5432 shop');
    expect(options.environment).toMatchObject({
      host: '/run/pg',
      user: 'mon',
      database: 'shop',
      passfile: '/x/pgpass',
    });
  });

  it('finds the password in a password file: first matching line, * wildcards, escapes; a socket is localhost', () => {
    const file = [
      '# comment',
      'other:5432:*:mon:nope',
      'localhost:5432:shop:mon:s\\:ecret',
      '*:*:*:*:fallback',
    ].join('\n');
    expect(
      pgpassPassword(file, { host: '/var/run/postgresql', port: 5432, database: 'shop', user: 'mon' }),
    ).toBe('s:ecret');
    expect(pgpassPassword(file, { host: 'db', port: 5432, database: 'x', user: 'y' })).toBe('fallback');
    expect(pgpassPassword('h:1:d:u:pw', { host: 'h', port: 2, database: 'd', user: 'u' })).toBeNull();
  });
});

describe('redactUrl', () => {
  it('never shows a password, in the userinfo or the query', () => {
    expect(redactUrl('postgres://u:p%40ss@h:1/d')).toBe('postgres://u:***@h:1/d');
    expect(redactUrl('postgres://u@h/d?sslmode=require&password=hunter2')).toBe(
      'postgres://u@h/d?sslmode=require&password=***',
    );
    expect(redactUrl('postgresql://u:pw@/d?host=/tmp')).toBe('postgresql://u:***@/d?host=/tmp');
  });
});

describe('--metrics-port, --metrics-host, --no-host-metrics (watch and agent)', () => {
  it('serves no exporter by default, and loopback when asked', () => {
    const none = parseWatchOptions({ url: 'postgresql://localhost/x' }, {});
    expect(none).toMatchObject({ metricsPort: null, metricsHost: '127.0.0.1', hostMetrics: true });
    const some = parseWatchOptions(
      { url: 'postgresql://localhost/x', metricsPort: '9187', hostMetrics: false },
      {},
    );
    expect(some).toMatchObject({ metricsPort: 9187, metricsHost: '127.0.0.1', hostMetrics: false });
  });

  it('refuses a port that is not one', () => {
    expect(() => parseWatchOptions({ url: 'postgresql://localhost/x', metricsPort: '70000' }, {})).toThrow(
      '--metrics-port must be between 0 and 65535',
    );
    expect(() => parseAgentOptions({ token: 'x', metricsPort: 'abc' }, {})).toThrow(
      '--metrics-port must be a port number',
    );
    expect(parseAgentOptions({ token: 'x', metricsPort: '9187', metricsHost: '0.0.0.0' }, {})).toMatchObject({
      metricsPort: 9187,
      metricsHost: '0.0.0.0',
      hostMetrics: true,
    });
  });
});

describe('serve --no-host-metrics', () => {
  it('reads /proc by default; the flag or HINDSIGHT_HOST_METRICS=0 turns it off', () => {
    expect(parseServeOptions({}, null, {}).hostMetrics).toBe(true);
    expect(parseServeOptions({ hostMetrics: false }, null, {}).hostMetrics).toBe(false);
    expect(parseServeOptions({}, null, { HINDSIGHT_HOST_METRICS: '0' }).hostMetrics).toBe(false);
  });
});
