import { describe, expect, it } from 'vitest';
import { classifyError, grantMonitor } from '../../../../src/agent/targets/postgres/connection-errors.js';

const context = { target: 'primary', user: 'watcher', database: 'shop', host: 'db', port: 5432 };

/** The shape `pg` gives server errors and Node gives socket errors: an Error with a `code`. */
function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyError', () => {
  it.each([
    ['28P01', 'TARGET_AUTH_FAILED', 'user'],
    ['28000', 'TARGET_AUTH_REJECTED', 'user'],
    ['3D000', 'TARGET_DATABASE_MISSING', 'user'],
    ['42501', 'TARGET_PRIVILEGE_MISSING', 'user'],
    ['57P01', 'TARGET_UNREACHABLE', 'transient'],
    ['57P03', 'TARGET_UNREACHABLE', 'transient'],
    ['53300', 'TARGET_UNREACHABLE', 'transient'],
    ['ECONNREFUSED', 'TARGET_UNREACHABLE', 'transient'],
    ['57014', 'TARGET_SLOW', 'transient'],
    ['55P03', 'TARGET_SLOW', 'transient'],
    ['XX000', 'TARGET_QUERY_FAILED', 'transient'],
  ])('%s → %s (%s)', (code, expected, kind) => {
    expect(classifyError(withCode('boom', code), context)).toMatchObject({ code: expected, kind });
  });

  it('says where to put the password when the server asks for one and none was given', () => {
    const error = classifyError(
      new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'),
      context,
    );
    expect(error).toMatchObject({ code: 'TARGET_PASSWORD_MISSING', kind: 'user' });
    expect(error.message).toContain('PGPASSWORD');
  });

  it('names the socket file, not :5432, for a socket connection', () => {
    const socket = { ...context, host: '/var/run/postgresql', address: '/var/run/postgresql/.s.PGSQL.5432' };
    expect(classifyError(withCode('connect ECONNREFUSED', 'ECONNREFUSED'), socket).message).toContain(
      '(/var/run/postgresql/.s.PGSQL.5432, database shop)',
    );
  });

  it('treats a connection dropped by the server as transient', () => {
    expect(classifyError(new Error('Connection terminated unexpectedly'), context).code).toBe(
      'TARGET_UNREACHABLE',
    );
    expect(classifyError(new Error('Connection terminated due to connection timeout'), context).code).toBe(
      'TARGET_UNREACHABLE',
    );
  });

  it('looks inside an AggregateError (every address refused)', () => {
    const error = new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], '');
    expect(classifyError(error, context)).toMatchObject({ code: 'TARGET_UNREACHABLE', kind: 'transient' });
  });

  it('says which GRANT to run for a missing privilege', () => {
    expect(classifyError(withCode('permission denied', '42501'), context).message).toContain(
      'GRANT pg_monitor TO watcher;',
    );
    expect(grantMonitor('Ops Team')).toBe('GRANT pg_monitor TO "Ops Team";');
  });

  it('calls anything else a bug, keeping the cause', () => {
    const cause = new TypeError('x is undefined');
    expect(classifyError(cause, context)).toMatchObject({ code: 'TARGET_UNEXPECTED', kind: 'bug', cause });
  });
});
