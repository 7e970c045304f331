import { describe, expect, it } from 'vitest';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';
import { detectLinePrefix } from '../../../src/postgres-log/prefix-detect.js';

const read = (prefix: string, text: string) => {
  const reader = createLogReader({ format: 'stderr', prefix });
  const events = [...reader.push(Buffer.from(text)), ...reader.end()];
  return { events, stats: reader.stats };
};

describe('compileLinePrefix through the stderr reader', () => {
  it('reads every escape into its field', () => {
    const prefix = '%m|%n|%p|%u|%d|%a|%r|%c|%l|%s|%v|%x|%e|%i|%b|%Q|%P|%% ';
    const line =
      '2026-03-01 15:00:00.250 UTC|1772377200.250|4242|alice|shop|checkout web|10.0.0.7(51234)|67a1b2c3.1092|7|' +
      '2026-03-01 14:59:00 UTC|3/17|0|40P01|UPDATE|client backend|-123456789||% ERROR:  deadlock detected\n';
    const { events, stats } = read(prefix, line);
    expect(stats.skipped['unmatched-prefix']).toBe(0);
    expect(events).toEqual([
      {
        at: Date.UTC(2026, 2, 1, 15, 0, 0, 250),
        pid: 4242,
        severity: 'ERROR',
        sqlstate: '40P01',
        message: 'deadlock detected',
        detail: null,
        hint: null,
        context: null,
        statement: null,
        user: 'alice',
        database: 'shop',
        application: 'checkout web',
        client: '10.0.0.7:51234',
        sessionId: '67a1b2c3.1092',
      },
    ]);
  });

  it('reads %n epoch timestamps and %t with zone abbreviations and numeric offsets', () => {
    expect(read('%n [%p] ', '1772377200.250 [1] LOG:  x\n').events[0]?.at).toBe(
      Date.UTC(2026, 2, 1, 15, 0, 0, 250),
    );
    expect(read('%t [%p] ', '2026-03-01 10:00:00 EST [1] LOG:  x\n').events[0]?.at).toBe(
      Date.UTC(2026, 2, 1, 15),
    );
    expect(read('%t [%p] ', '2026-03-01 18:00:00 +03 [1] LOG:  x\n').events[0]?.at).toBe(
      Date.UTC(2026, 2, 1, 15),
    );
    expect(read('%m [%p] ', '2026-03-01 20:30:00.000 +0530 [1] LOG:  x\n').events[0]?.at).toBe(
      Date.UTC(2026, 2, 1, 15),
    );
    const unknown = read('%m [%p] ', '2026-03-01 15:00:00.000 XYZT [1] LOG:  x\n');
    expect(unknown.events[0]?.at).toBe(Date.UTC(2026, 2, 1, 15));
    expect(unknown.stats.unknownTimeZones).toEqual(['XYZT']);
  });

  it('handles padding (%-10u, %5p) and %q for processes without a session', () => {
    const prefix = '%m [%5p] %q%-10u %-8d ';
    const text =
      '2026-03-01 15:00:00.000 UTC [  321] LOG:  checkpoint starting: time\n' +
      '2026-03-01 15:00:01.000 UTC [ 4242] bob        shop     ERROR:  canceling statement due to lock timeout\n';
    const { events, stats } = read(prefix, text);
    expect(stats.skipped['unmatched-prefix']).toBe(0);
    expect(events.map((e) => [e.pid, e.user, e.database, e.severity])).toEqual([
      [321, null, null, 'LOG'],
      [4242, 'bob', 'shop', 'ERROR'],
    ]);
  });

  it('reads user and database names that hold spaces and the prefix characters', () => {
    const { events } = read(
      '%m [%p] %q%u@%d ',
      '2026-03-01 15:00:00.000 UTC [7] my user@my db@x LOG:  hello\n',
    );
    expect(events[0]).toMatchObject({ user: 'my user', database: 'my db@x', message: 'hello' });
  });

  it('takes [unknown] and empty values as null, and an empty prefix as none', () => {
    const { events } = read(
      '%m [%p] %q%u@%d ',
      '2026-03-01 15:00:00.000 UTC [7] [unknown]@[unknown] LOG:  connection received\n',
    );
    expect(events[0]).toMatchObject({ user: null, database: null });
    expect(read('', 'LOG:  database system is ready to accept connections\n').events[0]).toMatchObject({
      severity: 'LOG',
      at: null,
      pid: null,
    });
  });

  it('reads lines that repeat the previous head (same process, same millisecond) as the regex would', () => {
    // The reader skips the regex for a line whose head equals the previous line's: each line
    // here checks that the fields and the keyword still come out right when the head repeats,
    // changes by one character, or repeats after a line that did not match.
    const at = '2026-03-01 15:00:00.250 UTC';
    const { events, stats } = read(
      '%m [%p] %q%u@%d/%a ',
      `${at} [7] ann@shop/web LOG:  duration: 1.000 ms  statement: SELECT 1\n` +
        `${at} [7] ann@shop/web LOG:  duration: 2.000 ms  statement: SELECT 2\n` +
        `${at} [7] ann@shop/web ERROR:  deadlock detected\n` +
        `${at} [7] ann@shop/web DETAIL:  Process 7 waits for ShareLock on transaction 5; blocked by process 8.\n` +
        `${at} [7] ann@shop/web STATEMENT:  UPDATE t SET v = 1\n` +
        `${at} [7] ann@shop/wex LOG:  other application\n` +
        `${at} [8] ann@shop/wex DETAIL:  another process: not this entry's\n` +
        `${at} [7] ann@shop/web NOTAKEYWORD:  x\n` +
        `${at} [7] ann@shop/web LOG:  after a line that did not match\n` +
        `${at} [7] ann@shop/web app LOG:  an application name with a space\n`,
    );
    expect(events.map((e) => [e.severity, e.pid, e.user, e.database, e.application, e.message])).toEqual([
      ['LOG', 7, 'ann', 'shop', 'web', 'duration: 1.000 ms  statement: SELECT 1'],
      ['LOG', 7, 'ann', 'shop', 'web', 'duration: 2.000 ms  statement: SELECT 2'],
      ['ERROR', 7, 'ann', 'shop', 'web', 'deadlock detected'],
      ['LOG', 7, 'ann', 'shop', 'wex', 'other application'],
      ['NOTAKEYWORD', 7, 'ann', 'shop', 'web', 'x'],
      ['LOG', 7, 'ann', 'shop', 'web', 'after a line that did not match'],
      ['LOG', 7, 'ann', 'shop', 'web app', 'an application name with a space'],
    ]);
    expect(events[2]).toMatchObject({
      detail: 'Process 7 waits for ShareLock on transaction 5; blocked by process 8.',
      statement: 'UPDATE t SET v = 1',
    });
    expect(events.every((e) => e.at === Date.UTC(2026, 2, 1, 15, 0, 0, 250))).toBe(true);
    expect(stats.skipped['orphan-continuation']).toBe(1);
    expect(stats.nonEnglishSeverities).toBe(1);
  });

  it('counts lines that do not start with the prefix, and keeps an example', () => {
    const { events, stats } = read(
      '%m [%p] ',
      'this is not a log line\n2026-03-01 15:00:00.000 UTC [7] LOG:  ok\n',
    );
    expect(events).toHaveLength(1);
    expect(stats.skipped['unmatched-prefix']).toBe(1);
    expect(stats.skippedExamples['unmatched-prefix']).toBe('this is not a log line');
  });
});

describe('detectLinePrefix', () => {
  it('infers a prefix that is not among the common ones', () => {
    const lines = [
      '2026-03-01 15:00:00.123 UTC <4242> alice/shop: LOG:  duration: 1.0 ms  statement: SELECT 1',
      '2026-03-01 15:00:00.124 UTC <4243> bob/shop: ERROR:  deadlock detected',
      '2026-03-01 15:00:00.124 UTC <4243> bob/shop: DETAIL:  Process 4243 waits for ShareLock on transaction 7; blocked by process 4242.',
    ].join('\n');
    const detected = detectLinePrefix(`${lines}\n`);
    expect(detected?.matched).toBe(3);
    const reader = createLogReader({ format: 'stderr', ...(detected ? { prefix: detected.prefix } : {}) });
    const events = [...reader.push(Buffer.from(`${lines}\n`)), ...reader.end()];
    expect(events.map((e) => e.pid)).toEqual([4242, 4243]);
    expect(events[1]?.detail).toMatch(/^Process 4243 waits/);
  });

  it("finds pgBadger's recommended prefix, with commas and spaces in the application name", () => {
    const text =
      '2026-03-01 15:00:00 UTC [4242]: [3-1] user=alice,db=shop,app=my app, v2,client=10.0.0.7 LOG:  duration: 5.0 ms  statement: SELECT 1\n' +
      '2026-03-01 15:00:01 UTC [99]: [1-1] user=,db=,app=,client= LOG:  checkpoint starting: time\n';
    const detected = detectLinePrefix(text);
    expect(detected?.prefix).toBe('%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ');
    const { events } = read(detected?.prefix ?? '', text);
    expect(events.map((e) => [e.pid, e.user, e.database, e.application, e.client])).toEqual([
      [4242, 'alice', 'shop', 'my app, v2', '10.0.0.7'],
      [99, null, null, null, null],
    ]);
  });

  it('tells a pid from a SQLSTATE and a transaction id (%m [%p] %e %c %x %q%u@%d/%a)', () => {
    const text =
      '2026-03-01 15:00:00.123 UTC [4242] 00000 65e1f0a0.1092 0 alice@shop/web LOG:  duration: 1.000 ms  statement: SELECT 1\n' +
      '2026-03-01 15:00:00.124 UTC [4243] 40P01 65e1f0a0.1093 735 bob@shop/web ERROR:  deadlock detected\n' +
      '2026-03-01 15:00:00.124 UTC [4243] 40P01 65e1f0a0.1093 735 bob@shop/web DETAIL:  Process 4243 waits for ShareLock on transaction 7; blocked by process 4242.\n' +
      '2026-03-01 15:00:00.200 UTC [4244] 23505 65e1f0a0.1094 736 carol@shop/api ERROR:  duplicate key value violates unique constraint "t_pkey"\n' +
      '2026-03-01 15:00:01.000 UTC [99] 00000 65e1f0a0.63 0 LOG:  checkpoint starting: time\n';
    const detected = detectLinePrefix(text);
    expect(detected?.matched).toBe(5);
    const { events, stats } = read(detected?.prefix ?? '', text);
    expect(stats.skipped['unmatched-prefix']).toBe(0);
    expect(events.map((e) => [e.pid, e.sqlstate, e.user, e.application])).toEqual([
      [4242, null, 'alice', 'web'],
      [4243, '40P01', 'bob', 'web'],
      [4244, '23505', 'carol', 'api'],
      [99, null, null, null],
    ]);
  });

  it('takes the time with milliseconds as the log time when the session start (%s) comes first', () => {
    const text =
      '2026-03-01 14:00:00 UTC 2026-03-01 15:00:00.123 UTC [4242] LOG:  duration: 1.000 ms  statement: SELECT 1\n' +
      '2026-03-01 14:30:00 UTC 2026-03-01 15:00:02.500 UTC [4243] ERROR:  deadlock detected\n';
    const detected = detectLinePrefix(text);
    expect(detected?.matched).toBe(2);
    const { events } = read(detected?.prefix ?? '', text);
    expect(events.map((e) => [e.at, e.pid])).toEqual([
      [Date.UTC(2026, 2, 1, 15, 0, 0, 123), 4242],
      [Date.UTC(2026, 2, 1, 15, 0, 2, 500), 4243],
    ]);
  });

  it('gives up (null) rather than guess on text that is not a log', () => {
    expect(detectLinePrefix('hello\nworld\n')).toBeNull();
  });
});

describe('format auto', () => {
  it('decides on the first lines when the file goes quiet (a tailer cannot wait for 200 lines)', () => {
    const reader = createLogReader({ format: 'auto' });
    const lines =
      '2026-03-01 15:00:00.000 UTC [7] app@shop ERROR:  deadlock detected\n' +
      '2026-03-01 15:00:00.000 UTC [7] app@shop STATEMENT:  UPDATE t SET v = 1\n';
    expect(reader.push(Buffer.from(lines))).toEqual([]);
    expect(reader.format).toBeNull();
    const events = reader.flush();
    expect(reader.format).toBe('stderr');
    expect(reader.prefix).toBe('%m [%p] %q%u@%d ');
    expect(events).toMatchObject([
      { pid: 7, user: 'app', database: 'shop', statement: 'UPDATE t SET v = 1' },
    ]);
  });
});
