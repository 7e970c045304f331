import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../../src/core/log-event.js';
import { createLogReader, type LogReader } from '../../../src/postgres-log/log-reader.js';
import { escapeControls, writeSyslog } from '../../fixtures/analyze/syslog-shapes.js';

const read = (
  text: string,
  options: Partial<Parameters<typeof createLogReader>[0]> = {},
): { events: LogEvent[]; reader: LogReader } => {
  const reader = createLogReader({ format: 'auto', year: { year: 2026 }, ...options });
  const events = [...reader.push(Buffer.from(text)), ...reader.end()];
  return { events, reader };
};

const header = (pid: number, ident = 'postgres', second = 1): string =>
  `Nov 30 10:00:0${second} db1 ${ident}[${pid}]: `;

/** What rsyslog stores for one entry: PostgreSQL's `syslog()` calls, control characters escaped. */
const syslogLines = (pid: number, seq: number, text: string, ident = 'postgres'): string[] =>
  writeSyslog(text, seq, { sequenceNumbers: true, split: true }).map(
    (call) => header(pid, ident) + escapeControls(call),
  );

describe('syslog reader', () => {
  it('joins a statement PostgreSQL split at 900 bytes (on spaces, and inside a word) and at newlines', () => {
    const words = Array.from({ length: 400 }, (_, i) => `col_${i}`).join(', ');
    const longWord = 'x'.repeat(2500);
    const statement = `SELECT ${words}\n\tFROM t WHERE v = '${longWord}'`;
    const text = `2026-11-30 10:00:01.123 UTC [42] ERROR:  canceling statement due to statement timeout\n2026-11-30 10:00:01.123 UTC [42] STATEMENT:  ${statement}`;
    const lines = syslogLines(42, 7, text);
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.some((line) => line.includes(': [7-3]  col_'))).toBe(true); // a chunk cut at a space starts with it
    const { events, reader } = read(`${lines.join('\n')}\n`);
    expect(reader.format).toBe('syslog');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      pid: 42,
      severity: 'ERROR',
      message: 'canceling statement due to statement timeout',
      statement: statement.replace('\n\t', '\n'),
      at: Date.UTC(2026, 10, 30, 10, 0, 1, 123),
    });
  });

  it('keeps interleaved chunks of two processes apart, and two clusters with the same pid apart', () => {
    const a = syslogLines(
      100,
      3,
      '2026-11-30 10:00:01.000 UTC [100] ERROR:  deadlock detected\n2026-11-30 10:00:01.000 UTC [100] DETAIL:  Process 100 waits for ShareLock on transaction 9; blocked by process 200.\n2026-11-30 10:00:01.000 UTC [100] STATEMENT:  UPDATE a SET v = 1',
    );
    const b = syslogLines(
      200,
      5,
      '2026-11-30 10:00:01.001 UTC [200] LOG:  process 200 acquired ShareLock on transaction 8 after 1000.1 ms\n2026-11-30 10:00:01.001 UTC [200] STATEMENT:  UPDATE b SET v = 2',
    );
    const other = syslogLines(
      100,
      1,
      '2026-11-30 10:00:01.002 UTC [100] LOG:  checkpoint starting: time',
      'postgres-16-main',
    );
    const lines = [
      a[0],
      b[0],
      other[0],
      a[1],
      b[1],
      a[2],
      'Nov 30 10:00:02 db1 CRON[7]: (root) CMD (run-parts /etc/cron.hourly)',
    ];
    const { events, reader } = read(`${lines.join('\n')}\n`);
    expect(events.map((e) => [e.pid, e.severity, e.message, e.detail, e.statement])).toEqual([
      [100, 'LOG', 'checkpoint starting: time', null, null],
      [
        100,
        'ERROR',
        'deadlock detected',
        'Process 100 waits for ShareLock on transaction 9; blocked by process 200.',
        'UPDATE a SET v = 1',
      ],
      [
        200,
        'LOG',
        'process 200 acquired ShareLock on transaction 8 after 1000.1 ms',
        null,
        'UPDATE b SET v = 2',
      ],
    ]);
    // Another program's line: its text is not PostgreSQL's (reported with an example).
    expect(reader.stats.skipped['unmatched-prefix']).toBe(1);
    expect(reader.stats.skippedExamples['unmatched-prefix']).toMatch(/^\(root\) CMD/);
    expect(reader.stats.skipped['orphan-continuation']).toBe(0);
  });

  it('reads #011 tabs of a multi-line statement, RFC 5424 lines, and [chunk] numbering without sequence numbers', () => {
    const lines = [
      '<134>1 2026-11-30T10:00:01.500+01:00 db1 postgres 42 - - [1] 2026-11-30 10:00:01.500 CET [42] LOG:  duration: 1500.000 ms  statement: SELECT 1',
      '<134>1 2026-11-30T10:00:01.500+01:00 db1 postgres 42 - - [2] #011FROM t',
    ];
    const { events } = read(`${lines.join('\n')}\n`);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      pid: 42,
      message: 'duration: 1500.000 ms  statement: SELECT 1\nFROM t',
      at: Date.UTC(2026, 10, 30, 9, 0, 1, 500),
    });
  });

  it('takes time and pid from the envelope when the prefix has neither, the year from the option (December then January)', () => {
    const lines = [
      'Dec 31 23:59:59 db1 postgres[42]: [1] app@shop LOG:  connection authorized: user=app database=shop',
      'Jan  1 00:00:01 db1 postgres[42]: [2] app@shop LOG:  disconnection: session time: 0:00:02.000',
    ];
    const { events } = read(`${lines.join('\n')}\n`, { format: 'syslog', year: { year: 2025 } });
    expect(events.map((e) => [e.at, e.pid])).toEqual([
      [Date.UTC(2025, 11, 31, 23, 59, 59), 42],
      [Date.UTC(2026, 0, 1, 0, 0, 1), 42],
    ]);
  });
});

describe('journald reader', () => {
  it('reads journalctl -o json records, MESSAGE as a string or as bytes', () => {
    const record = (message: string | number[], pid: number): string =>
      JSON.stringify({
        __REALTIME_TIMESTAMP: '1796032801500000',
        _PID: String(pid),
        SYSLOG_IDENTIFIER: 'postgres',
        _HOSTNAME: 'db1',
        MESSAGE: message,
      });
    const text = [
      record(
        '[1-1] 2026-11-30 10:00:01.500 UTC [42] ERROR:  duplicate key value violates unique constraint "p_pkey"',
        42,
      ),
      record(
        [...Buffer.from('[1-2] 2026-11-30 10:00:01.500 UTC [42] DETAIL:  Key (id)=(1) already exists.')],
        42,
      ),
    ].join('\n');
    const { events, reader } = read(`${text}\nnot a journal record\n`);
    expect(reader.format).toBe('journald');
    expect(reader.stats.skipped['unmatched-envelope']).toBe(1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ pid: 42, severity: 'ERROR', detail: 'Key (id)=(1) already exists.' });
  });
});
