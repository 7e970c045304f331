import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logEvent as event } from '../../support/sample-builder.js';
import type { LogEvent } from '../../../src/core/log-event.js';
import { LocaleCheck } from '../../../src/postgres-log/log-locale.js';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';
import { interpretLogEvent, parseParameters, sqlstateOf } from '../../../src/postgres-log/log-signal.js';

const PREFIX = '%m [%p] %q%u@%d ';
const head = (pid: number) => `2026-03-01 15:00:00.000 UTC [${pid}] app@shop `;

function stderr(text: string, prefix = PREFIX): LogEvent[] {
  const reader = createLogReader({ format: 'stderr', prefix });
  return [...reader.push(Buffer.from(text)), ...reader.end()];
}

describe('lock waits (PostgreSQL 13–18 forms)', () => {
  it('reads "still waiting" with one holder and a wait queue', () => {
    const signal = interpretLogEvent(
      event({
        message: 'process 12 still waiting for ShareLock on transaction 746 after 1000.123 ms',
        detail: 'Process holding the lock: 13. Wait queue: 12, 14.',
        context: 'while updating tuple (0,1) in relation "accounts"',
      }),
    );
    expect(signal).toMatchObject({
      kind: 'lock_wait',
      phase: 'waiting',
      pid: 12,
      mode: 'ShareLock',
      object: 'transaction 746',
      waitedMs: 1000.123,
      holders: [13],
      queue: [12, 14],
      relation: 'accounts',
    });
  });

  it('reads plural holders, an empty wait queue, acquired, rearranged and PostgreSQL 18 failures', () => {
    const plural = interpretLogEvent(
      event({
        message:
          'process 5 still waiting for AccessExclusiveLock on relation 16385 of database 5 after 1000.5 ms',
        detail: 'Processes holding the lock: 1, 2. Wait queue: .',
      }),
    );
    expect(plural).toMatchObject({
      holders: [1, 2],
      queue: [],
      object: 'relation 16385 of database 5',
      relation: null,
    });
    const acquired = interpretLogEvent(
      event({ message: 'process 5 acquired ShareLock on transaction 9 after 2001.0 ms' }),
    );
    expect(acquired).toMatchObject({ phase: 'acquired', waitedMs: 2001, holders: [], queue: [] });
    const rearranged = interpretLogEvent(
      event({
        message:
          'process 5 avoided deadlock for AccessExclusiveLock on relation 16385 of database 5 by rearranging queue order after 1000.1 ms',
      }),
    );
    expect(rearranged).toMatchObject({
      phase: 'rearranged',
      object: 'relation 16385 of database 5',
      waitedMs: 1000.1,
    });
    const failed = interpretLogEvent(
      event({
        message: 'process 15435 could not obtain ShareLock on transaction 774',
        detail: 'Process holding the lock: 15434, Wait queue: .',
      }),
    );
    expect(failed).toMatchObject({ phase: 'not_obtained', waitedMs: null, holders: [15434], queue: [] });
  });
});

describe('deadlocks', () => {
  const text =
    `${head(201)}ERROR:  deadlock detected\n` +
    `${head(201)}DETAIL:  Process 201 waits for ShareLock on transaction 746; blocked by process 202.\n` +
    '\tProcess 202 waits for ExclusiveLock on tuple (0,1) of relation 16385 of database 5; blocked by process 201.\n' +
    '\tProcess 201: UPDATE a\n\t   SET x = 1\n' +
    '\tProcess 202: <insufficient privilege>\n' +
    `${head(201)}HINT:  See server log for query details.\n` +
    `${head(201)}CONTEXT:  while locking tuple (3,4) in relation "order ""items"""\n` +
    `${head(201)}STATEMENT:  UPDATE a\n\t   SET x = 1\n`;

  it('reads every process of the cycle, keeps OIDs as text and the victim from the ERROR', () => {
    const signal = interpretLogEvent(stderr(text)[0] ?? event({}));
    expect(signal?.kind).toBe('deadlock');
    if (signal?.kind !== 'deadlock') return;
    expect(signal.report).toEqual({
      at: Date.UTC(2026, 2, 1, 15),
      victimPid: 201,
      database: 'shop',
      processes: [
        {
          pid: 201,
          waitsForMode: 'ShareLock',
          waitsForObject: 'transaction 746',
          relation: 'order "items"',
          blockedBy: 202,
          query: 'UPDATE a\n   SET x = 1',
        },
        {
          pid: 202,
          waitsForMode: 'ExclusiveLock',
          waitsForObject: 'tuple (0,1) of relation 16385 of database 5',
          relation: null,
          blockedBy: 201,
          query: null,
        },
      ],
    });
  });
});

describe('errors and timeouts', () => {
  it('infers the SQLSTATE from the English message when the prefix has no %e', () => {
    const cases: [string, string, string][] = [
      ['canceling statement due to lock timeout', '55P03', 'lock_timeout'],
      ['could not obtain lock on row in relation "t"', '55P03', 'lock_not_available'],
      ['canceling statement due to statement timeout', '57014', 'statement_timeout'],
      ['could not serialize access due to concurrent update', '40001', 'serialization_failure'],
      ['terminating connection due to idle-in-transaction timeout', '25P03', 'idle_in_transaction_timeout'],
      ['terminating connection due to transaction timeout', '25P04', 'transaction_timeout'],
      ['duplicate key value violates unique constraint "t_pkey"', '23505', 'error'],
      ['canceling statement due to user request', '57014', 'error'],
    ];
    for (const [message, sqlstate, kind] of cases) {
      const failure = event({ severity: message.startsWith('terminating') ? 'FATAL' : 'ERROR', message });
      expect(sqlstateOf(failure)).toBe(sqlstate);
      expect(interpretLogEvent(failure)?.kind).toBe(kind);
    }
    expect(
      interpretLogEvent(
        event({ severity: 'ERROR', message: 'could not obtain lock on row in relation "t"' }),
      ),
    ).toMatchObject({
      relation: 't',
    });
    expect(interpretLogEvent(event({ severity: 'LOG', message: 'checkpoint starting: time' }))).toBeNull();
  });

  it('strips " at character N" and reads log_error_verbosity = verbose (SQLSTATE in the message, LOCATION line)', () => {
    const events = stderr(
      `${head(7)}ERROR:  42601: syntax error at or near "SELEC" at character 1\n` +
        `${head(7)}LOCATION:  scanner_yyerror, scan.l:1244\n` +
        `${head(7)}STATEMENT:  SELEC 1\n`,
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      sqlstate: '42601',
      message: 'syntax error at or near "SELEC"',
      statement: 'SELEC 1',
    });
  });

  it('keeps the internal QUERY of a PL/pgSQL error at the head of the context', () => {
    const events = stderr(
      `${head(7)}ERROR:  deadlock detected\n` +
        `${head(7)}QUERY:  UPDATE t SET v = 1\n` +
        `${head(7)}CONTEXT:  PL/pgSQL function f() line 3 at SQL statement\n`,
    );
    expect(events[0]?.context).toBe(
      'QUERY:  UPDATE t SET v = 1\nPL/pgSQL function f() line 3 at SQL statement',
    );
  });
});

describe('statements', () => {
  it('reads durations of simple and extended-protocol statements, and their parameters (13–17: lower case)', () => {
    const events = stderr(
      `${head(3)}LOG:  duration: 1234.5 ms  statement: SELECT pg_sleep(1)\n` +
        `${head(3)}LOG:  duration: 0.5 ms  execute S_1/C_2: SELECT * FROM t WHERE a = $1 AND b = $3\n` +
        `${head(3)}DETAIL:  parameters: $1 = '42', $3 = 'x, ''y'''\n` +
        `${head(3)}LOG:  duration: 12.000 ms\n` +
        `${head(3)}LOG:  execute <unnamed>: SELECT 1\n`,
    );
    const signals = events.map(interpretLogEvent);
    expect(signals[0]).toMatchObject({
      kind: 'statement',
      durationMs: 1234.5,
      step: 'statement',
      query: 'SELECT pg_sleep(1)',
    });
    expect(signals[1]).toMatchObject({ step: 'execute', name: 'S_1/C_2' });
    expect(parseParameters(signals[1]?.event.detail ?? null)).toEqual(['42', null, "x, 'y'"]);
    expect(signals[2]).toMatchObject({ durationMs: 12, step: null, query: null });
    expect(signals[3]).toMatchObject({
      durationMs: null,
      step: 'execute',
      name: '<unnamed>',
      query: 'SELECT 1',
    });
  });

  it('parses PostgreSQL 18 "Parameters:" and NULLs', () => {
    expect(parseParameters("Parameters: $1 = 'it''s', $2 = NULL")).toEqual(["it's", null]);
    expect(parseParameters(null)).toEqual([]);
  });
});

describe('statement lines read by hand', () => {
  // The specification: the regexes the hand-written reader replaced (for speed), kept here to
  // hold it to the same answers on any message.
  const DURATION =
    /^duration: ([\d.]+) ms(?: {2}(statement|parse|bind|execute fetch from|execute|fastpath function call)(?: ([^:\n]*))?: (.*))?$/s;
  const LOGGED =
    /^(statement|parse|bind|execute fetch from|execute|fastpath function call)(?: ([^:\n]*))?: (.*)$/s;
  const expected = (message: string) => {
    const d = DURATION.exec(message);
    if (message.startsWith('duration: ')) {
      if (d === null || !Number.isFinite(Number(d[1]))) return null;
      return { durationMs: Number(d[1]), step: d[2] ?? null, name: d[3] ?? null, query: d[4] ?? null };
    }
    const l = LOGGED.exec(message);
    return l === null
      ? null
      : { durationMs: null, step: l[1] ?? null, name: l[2] ?? null, query: l[3] ?? null };
  };
  const piece = fc.constantFrom(
    'duration: ',
    '0.149',
    '1234.5',
    '12',
    '.5',
    '1.2.3',
    ' ms',
    '  ',
    ' ',
    'statement',
    'execute',
    'execute fetch from',
    'parse',
    'bind',
    'fastpath function call',
    ': ',
    ':',
    'S_1',
    '<unnamed>',
    '\n',
    'SELECT 1',
    'x',
  );

  it('agrees with the regexes on generated messages', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.boolean(), (pieces, timed) => {
        const message = (timed ? 'duration: ' : '') + pieces.join('');
        const signal = interpretLogEvent(event({ severity: 'LOG', message }));
        const want = expected(message);
        if (want === null) expect(signal).toBeNull();
        else expect(signal).toMatchObject({ kind: 'statement', ...want });
      }),
      { numRuns: 5000 },
    );
  });
});

describe('entry assembly', () => {
  it('does not attach a continuation to another process entry', () => {
    const reader = createLogReader({ format: 'stderr', prefix: PREFIX });
    const events = [
      ...reader.push(Buffer.from(`${head(1)}ERROR:  boom\n${head(2)}DETAIL:  not mine\n\torphan tab line\n`)),
      ...reader.end(),
    ];
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ message: 'boom', detail: null });
    // The tab line goes on with the orphan DETAIL, so it is an orphan too.
    expect(reader.stats.skipped['orphan-continuation']).toBe(2);
  });

  it('flush() hands over the pending entry; a later continuation of it is counted, not glued to another', () => {
    const reader = createLogReader({ format: 'stderr', prefix: PREFIX });
    expect(reader.push(Buffer.from(`${head(1)}ERROR:  deadlock detected\n`))).toEqual([]);
    expect(reader.flush()).toHaveLength(1);
    expect(reader.push(Buffer.from(`${head(1)}HINT:  late\n`))).toEqual([]);
    expect(reader.end()).toEqual([]);
    expect(reader.stats.skipped['orphan-continuation']).toBe(1);
  });

  it('cuts an entry at the cap and counts it, holding no more than the cap', () => {
    const reader = createLogReader({ format: 'stderr', prefix: PREFIX, maxEntryLength: 1000 });
    const long = 'x'.repeat(5000);
    const events = [
      ...reader.push(
        Buffer.from(`${head(1)}LOG:  duration: 1.0 ms  statement: SELECT '${long}'\n\t${long}\n`),
      ),
      ...reader.push(Buffer.from(long)),
      ...[reader.buffered],
    ];
    expect(events.pop()).toBeLessThanOrEqual(2000);
    events.push(...reader.push(Buffer.from(`\n${head(2)}LOG:  next\n`)), ...reader.end());
    const logEvents = events as LogEvent[];
    expect(logEvents.map((e) => e.pid)).toEqual([1, 2]);
    expect(logEvents[0]?.message.length).toBeLessThanOrEqual(1000);
    // The entry, and the 5000-character stray line (cut at the cap, then skipped: no prefix).
    expect(reader.stats.truncated).toBe(2);
    expect(reader.stats.skipped['unmatched-prefix']).toBe(1);
  });
});

describe('csvlog and jsonlog', () => {
  it('reads PostgreSQL 13 csvlog (23 columns) with quotes and newlines in fields, and CRLF line ends', () => {
    const record =
      '2026-03-01 15:00:00.000 UTC,"app","shop",201,"10.0.0.1:5000",67a1.c9,3,"UPDATE",2026-03-01 14:00:00 UTC,3/9,746,' +
      'ERROR,40P01,"deadlock detected","Process 201 waits for ShareLock on transaction 746; blocked by process 202.\n' +
      'Process 202 waits for ShareLock on transaction 745; blocked by process 201.\nProcess 201: UPDATE ""a"" SET x = 1\n' +
      'Process 202: UPDATE b SET y = 2","See server log for query details.",,,"while updating tuple (0,1) in relation ""a""",' +
      '"UPDATE ""a"" SET x = 1",,,"psql"\r\n';
    const reader = createLogReader({ format: 'csvlog' });
    const events = [...reader.push(Buffer.from(record + record)), ...reader.end()];
    expect(events).toHaveLength(2);
    expect(reader.stats.lines).toBe(8);
    const signal = interpretLogEvent(events[0] ?? event({}));
    expect(signal?.kind === 'deadlock' && signal.report.processes.map((p) => p.query)).toEqual([
      'UPDATE "a" SET x = 1',
      'UPDATE b SET y = 2',
    ]);
    expect(events[0]).toMatchObject({
      application: 'psql',
      client: '10.0.0.1:5000',
      sqlstate: '40P01',
      pid: 201,
    });
  });

  it('drops a broken csv line and resynchronises on the next record', () => {
    const good =
      '2026-03-01 15:00:00.000 UTC,,,1,,a.b,1,,2026-03-01 15:00:00 UTC,,0,LOG,00000,"ok",,,,,,,,,"","postmaster",,0\n';
    const reader = createLogReader({ format: 'csvlog' });
    const events = [...reader.push(Buffer.from(`${good}garbage "quote" here\n${good}`)), ...reader.end()];
    expect(events).toHaveLength(2);
    expect(reader.stats.skipped['invalid-csv']).toBe(1);
  });

  it('counts jsonlog lines that are not log records', () => {
    const reader = createLogReader({ format: 'jsonlog' });
    const good = '{"timestamp":"2026-03-01 15:00:00.000 UTC","pid":1,"error_severity":"LOG","message":"ok"}';
    const events = [...reader.push(Buffer.from(`${good}\n{"a":1}\n{not json\n${good}`)), ...reader.end()];
    expect(events).toHaveLength(2);
    expect(reader.stats.skipped['invalid-json']).toBe(2);
  });
});

describe('lc_messages', () => {
  it('says clearly when the log is not in English (stderr severities)', () => {
    const events = stderr(
      `${head(1)}FEHLER:  Verklemmung (Deadlock) entdeckt\n` +
        `${head(1)}DETAIL:  Prozess 1 wartet auf ShareLock\n` +
        `${head(2)}FEHLER:  doppelter Schlüsselwert verletzt Unique-Constraint »t_pkey«\n`,
    );
    const check = new LocaleCheck();
    for (const e of events) check.observe(e);
    expect(check.problem).toMatch(/not in English.*lc_messages to 'C'/s);
  });

  it('sees a localized message behind a known SQLSTATE (jsonlog keeps English severities)', () => {
    const check = new LocaleCheck();
    check.observe(event({ severity: 'ERROR', sqlstate: '40P01', message: 'interblocage détecté' }));
    expect(check.problem).toMatch(/not in English/);
    const english = new LocaleCheck();
    english.observe(event({ severity: 'ERROR', sqlstate: '40P01', message: 'deadlock detected' }));
    english.observe(event({ severity: 'LOG', message: 'checkpoint starting: time' }));
    expect(english.problem).toBeNull();
  });
});
