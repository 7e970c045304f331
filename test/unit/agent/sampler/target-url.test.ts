import { describe, expect, it } from 'vitest';
import { parseTargetUrl, redactUrl } from '../../../../src/agent/targets/postgres/target-url.js';

describe('parseTargetUrl', () => {
  it('reads user, database, host and port, defaulting the port', () => {
    expect(parseTargetUrl('postgres://app%40corp:p%40ss@db.local/shop')).toMatchObject({
      user: 'app@corp',
      database: 'shop',
      host: 'db.local',
      port: 5432,
      redacted: 'postgres://app%40corp:***@db.local/shop',
    });
    expect(parseTargetUrl('postgresql://u@h:6543/d').port).toBe(6543);
  });

  it('removes the settings the monitor connection owns, keeping other parameters and the options', () => {
    const url = parseTargetUrl(
      'postgres://u:p@h/d?sslmode=require&statement_timeout=0&lock_timeout=0&application_name=x&options=-c%20search_path%3Dapp',
    );
    expect(url.connectionString('p')).toBe('postgres://u:p@h:5432/d?sslmode=require');
    expect(url.options).toBe('-c search_path=app');
  });

  it('rejects what is not a postgres URL as a user error', () => {
    expect(() => parseTargetUrl('localhost:5432')).toThrow(
      expect.objectContaining({ code: 'TARGET_URL_INVALID', kind: 'user' }),
    );
    expect(() => parseTargetUrl('http://h/d')).toThrow(/must start with postgres:\/\//);
  });
});

describe('parseTargetUrl for a socket', () => {
  it('gives pg the socket directory as ?host= and every field explicitly; messages name the socket file', () => {
    const url = parseTargetUrl('postgresql://mon@/shop?host=/var/run/postgresql', {
      passfile: '/p',
      osUser: 'alice',
    });
    expect(url.address).toBe('/var/run/postgresql/.s.PGSQL.5432');
    expect(url.connectionString('pw')).toBe(
      'postgres://mon:pw@/shop?host=%2Fvar%2Frun%2Fpostgresql&port=5432',
    );
    expect(url.passfile).toBe('/p');
  });
});

describe('redactUrl', () => {
  it('hides passwords in the authority and the query', () => {
    expect(redactUrl('postgres://u:secret@h/d?password=other')).toBe('postgres://u:***@h/d?password=***');
    expect(redactUrl('postgres://u@h/d')).toBe('postgres://u@h/d');
    expect(redactUrl('nope')).toBe('nope');
  });
});
