import { describe, expect, it } from 'vitest';
import { parseRaceOptions } from '../../../src/config/race-options.js';
import { HindsightError } from '../../../src/core/errors.js';

const KINDS = ['deadlock', 'serialization_failure', 'lock_timeout'];

const refused = (run: () => unknown): HindsightError => {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(HindsightError);
    return e as HindsightError;
  }
  throw new Error('expected the options to be refused');
};

describe('race options', () => {
  it('reads numbers, the outcome list and the defaults', () => {
    expect(
      parseRaceOptions(
        ['a.yaml'],
        { seed: '7', maxSchedules: '50', allow: 'deadlock, lock_timeout', shrink: false },
        KINDS,
      ),
    ).toMatchObject({
      specs: ['a.yaml'],
      seed: 7,
      maxSchedules: 50,
      allow: ['deadlock', 'lock_timeout'],
      shrink: false,
      first: false,
      db: null,
      schedule: null,
    });
  });

  it('reports every problem at once, before any server starts', () => {
    const e = refused(() =>
      parseRaceOptions(
        [],
        { seed: '-1', maxSchedules: '0', allow: 'deadlock,boom', schedule: '  ', junit: '' },
        KINDS,
      ),
    );
    expect(e.code).toBe('RACE_BAD_OPTIONS');
    expect(e.kind).toBe('user');
    for (const part of [
      '--seed takes a whole number, not "-1"',
      '--max-schedules takes a whole number of at least 1, not "0"',
      '--allow: unknown outcome boom; use deadlock, serialization_failure, lock_timeout',
      '--schedule is empty',
      '--junit needs a file path',
      'give at least one spec file',
    ])
      expect(e.message).toContain(part);
  });

  it('keeps --from-log and --out together, apart from specs', () => {
    expect(parseRaceOptions([], { fromLog: 'pg.log', out: 's.yaml' }, KINDS)).toMatchObject({
      fromLog: 'pg.log',
      out: 's.yaml',
    });
    expect(refused(() => parseRaceOptions(['a.yaml'], { fromLog: 'pg.log' }, KINDS)).message).toContain(
      '--from-log writes a spec instead of running specs',
    );
    expect(refused(() => parseRaceOptions(['a.yaml'], { out: 's.yaml' }, KINDS)).message).toContain(
      '--out is where --from-log writes its spec',
    );
  });
});
