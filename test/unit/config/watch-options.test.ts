import { describe, expect, it } from 'vitest';
import { parseWatchOptions, redactUrl, targetName } from '../../../src/config/watch-options.js';
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
    const options = parseWatchOptions({ url: 'postgresql://localhost/x', interval: '0.5', idleInTransaction: '10' }, {});
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
    expect(() => parseWatchOptions({ url: 'not a url at all' }, {})).toThrow(/expected postgres:\/\/user:password@host/);
  });

  it('reports every problem at once', () => {
    expect(() => parseWatchOptions({ url: 'nope', interval: '-1', logFormat: 'xml' as 'auto' }, {})).toThrow(
      /invalid options:[\s\S]*not a URL[\s\S]*--log-format[\s\S]*--interval/,
    );
  });

  it('takes the raw-queries opt-in from the environment', () => {
    expect(parseWatchOptions({ url: 'postgres://h/d' }, { HINDSIGHT_RAW_QUERIES: '1' }).rawQueries).toBe(true);
  });
});

describe('redactUrl and targetName', () => {
  it('never show the password', () => {
    expect(redactUrl('postgres://u:p%40ss@h:1/d')).toBe('postgres://u:***@h:1/d');
    expect(targetName('postgres://u:p@h/d')).toBe('h/d');
  });
});
