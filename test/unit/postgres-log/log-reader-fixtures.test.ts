import type { Truth } from '../../fixtures/postgres-logs/record.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../../src/core/log-event.js';
import { detectLogFormat } from '../../../src/postgres-log/log-format.js';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';
import { interpretLogEvent, parseParameters, type LogSignal } from '../../../src/postgres-log/log-signal.js';
import { detectLinePrefix } from '../../../src/postgres-log/prefix-detect.js';

/**
 * Logs recorded from a real PostgreSQL 18 by test/fixtures/postgres-logs/record.ts, in the three
 * formats at once. The truths are independent of the parser: what the clients received
 * (truth.json) and counts of distinctive text in the raw files.
 */
const FIXTURES = join(import.meta.dirname, '../../fixtures/postgres-logs');
const RUNS = ['prefix-default', 'prefix-remote'] as const;
const FORMATS = [
  { format: 'stderr', file: 'postgresql.log' },
  { format: 'csvlog', file: 'postgresql.csv' },
  { format: 'jsonlog', file: 'postgresql.json' },
] as const;

const fixture = (run: string, file: string) => readFileSync(join(FIXTURES, run, file));
const truthOf = (run: string) => JSON.parse(fixture(run, 'truth.json').toString('utf8')) as Truth;

function readAll(bytes: Buffer, format: 'stderr' | 'csvlog' | 'jsonlog' | 'auto', prefix?: string) {
  const reader = createLogReader({ format, ...(prefix === undefined ? {} : { prefix }) });
  const events = [...reader.push(bytes), ...reader.end()];
  return { events, reader };
}

function signals(events: readonly LogEvent[]): LogSignal[] {
  return events.map(interpretLogEvent).filter((signal) => signal !== null);
}

const countKind = (list: readonly LogSignal[], kind: LogSignal['kind']) =>
  list.filter((s) => s.kind === kind).length;

/** Counts lines of the raw file that match, without the parser. */
const grepCount = (bytes: Buffer, pattern: RegExp) =>
  bytes
    .toString('utf8')
    .split('\n')
    .filter((l) => pattern.test(l)).length;

describe.each(RUNS)('fixtures recorded with prefix run %s', (run) => {
  const truth = truthOf(run);

  describe.each(FORMATS)('$format', ({ format, file }) => {
    const bytes = fixture(run, file);
    const { events, reader } = readAll(bytes, format, format === 'stderr' ? truth.prefix : undefined);
    const found = signals(events);

    it('reads every line into an event, skipping nothing', () => {
      const stats = reader.stats;
      expect(stats.skipped).toEqual({
        'unmatched-prefix': 0,
        'orphan-continuation': 0,
        'invalid-csv': 0,
        'invalid-json': 0,
        'unmatched-envelope': 0,
        'other-logger': 0,
        blank: 0,
      });
      expect(stats.truncated).toBe(0);
      expect(stats.bytes).toBe(bytes.length);
      expect(stats.events).toBe(events.length);
      expect(stats.lines).toBe(grepCount(bytes, /./));
      expect(events.every((event) => event.at !== null && event.pid !== null)).toBe(true);
    });

    it('counts what the clients received', () => {
      expect(countKind(found, 'deadlock')).toBe(truth.deadlocks);
      expect(countKind(found, 'lock_timeout')).toBe(truth.lockTimeouts);
      expect(countKind(found, 'statement_timeout')).toBe(truth.statementTimeouts);
      expect(countKind(found, 'serialization_failure')).toBe(truth.serializationFailures);
      expect(countKind(found, 'lock_not_available')).toBe(truth.nowaitFailures);
      const unique = found.filter((s) => s.kind === 'error' && s.sqlstate === '23505').length;
      expect(unique).toBe(truth.uniqueViolations);
      // Every ERROR an application received is in the log (and nothing more).
      const errors = events.filter((event) => event.severity === 'ERROR').length;
      expect(errors).toBe(Object.values(truth.errors).reduce((a, b) => a + b, 0));
    });

    it('reads slow statements with their durations, and prepared statements with parameters', () => {
      const statements = found.filter((s) => s.kind === 'statement');
      const sleeps = statements.filter(
        (s) => s.query?.startsWith('SELECT pg_sleep(0.3)') && (s.durationMs ?? 0) >= 250,
      );
      expect(sleeps).toHaveLength(truth.slowSleeps);
      expect(sleeps.some((s) => s.query?.includes('\n       count(*)\n'))).toBe(true);
      const executes = statements.filter((s) => s.step === 'execute' && s.name === 'stock');
      expect(executes.map((s) => parseParameters(s.event.detail))).toEqual([
        ['1', '0'],
        ['2', '0'],
        ['3', '0'],
      ]);
      const unnamed = statements.find((s) => s.step === 'execute' && s.name === '<unnamed>');
      expect(parseParameters(unnamed?.event.detail ?? null)).toEqual(["it's", null]);
    });

    it('reads lock waits: one holder, several holders, empty wait queue, acquired, PostgreSQL 18 lock failure', () => {
      const waits = found.filter((s) => s.kind === 'lock_wait');
      const stillWaiting = waits.filter((w) => w.phase === 'waiting');
      expect(stillWaiting).toHaveLength(
        grepCount(fixture(run, 'postgresql.log'), /LOG: {2}process \d+ still waiting for /),
      );
      expect(waits.filter((w) => w.phase === 'acquired')).toHaveLength(
        grepCount(fixture(run, 'postgresql.log'), /LOG: {2}process \d+ acquired /),
      );
      expect(
        stillWaiting.every(
          (w) => w.holders.length > 0 && w.queue.includes(w.pid) && (w.waitedMs ?? 0) >= 100,
        ),
      ).toBe(true);
      expect(stillWaiting.some((w) => w.holders.length === 2 && w.mode === 'ExclusiveLock')).toBe(true);
      const detected = waits.filter((w) => w.phase === 'deadlock_detected');
      expect(detected).toHaveLength(truth.deadlocks);
      expect(detected.every((w) => w.queue.length === 0 && w.holders.length === 1)).toBe(true);
      const failed = waits.filter((w) => w.phase === 'not_obtained');
      expect(failed).toHaveLength(truth.nowaitFailures);
      expect(failed[0]?.holders).toHaveLength(1);
      expect(failed[0]?.queue).toEqual([]);
    });

    it('strips " at character N" so that every format reads the same message', () => {
      const syntax = events.find((event) => event.message.startsWith('syntax error'));
      expect(syntax?.message).toBe('syntax error at or near "SELEC"');
    });
  });

  it('the three formats agree on every deadlock report and on the events', () => {
    const reports = FORMATS.map(({ format, file }) =>
      signals(readAll(fixture(run, file), format, format === 'stderr' ? truth.prefix : undefined).events)
        .filter((s) => s.kind === 'deadlock')
        .map((s) => s.report),
    );
    const [stderr, csv, json] = reports;
    expect(stderr).toHaveLength(truth.deadlocks);
    // stderr with %t has whole seconds only; compare the rest.
    const withoutTime = (list: typeof stderr) => list?.map((report) => ({ ...report, at: null }));
    expect(withoutTime(csv)).toEqual(withoutTime(stderr));
    expect(json).toEqual(csv);
    for (const report of stderr ?? []) {
      expect(report.database).toBe('shop');
      expect(report.victimPid).toBe(report.processes[0]?.pid);
      expect(report.processes.length).toBeGreaterThanOrEqual(2);
      for (const process of report.processes) {
        expect(process.query).toMatch(/^UPDATE (inventory|products)\b/);
        expect(process.waitsForMode).toBe('ShareLock');
        expect(process.waitsForObject).toMatch(/^transaction \d+$/);
      }
    }
    expect(stderr?.some((report) => report.processes.length === 3)).toBe(true);
    expect(stderr?.[0]?.processes[0]?.query).toBe('UPDATE products\n   SET price = price - 1\n WHERE id = 1');
    expect(stderr?.[0]?.processes[0]?.relation).toBe('products');

    // Concurrent backends may reach the destinations in another order: compare as sorted lists.
    const messages = FORMATS.map(({ format, file }) =>
      readAll(fixture(run, file), format, format === 'stderr' ? truth.prefix : undefined)
        .events.map((e) =>
          [e.pid, e.severity, e.message, e.detail, e.hint, e.context, e.statement, e.user, e.database].join(
            '|',
          ),
        )
        .sort(),
    );
    expect(messages[1]).toEqual(messages[0]);
    expect(messages[2]).toEqual(messages[0]);
  });

  it('does not take a stderr log whose statements hold commas for csvlog', () => {
    const line =
      '2026-03-01 15:00:00.001 UTC [1001] app@shop/web LOG:  duration: 2.060 ms  statement: SELECT * FROM orders WHERE id IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)\n';
    expect(detectLogFormat(Buffer.from(line.repeat(20)))).toBe('stderr');
  });

  it('detects the format and the log_line_prefix from the lines', () => {
    expect(detectLogFormat(fixture(run, 'postgresql.log'))).toBe('stderr');
    expect(detectLogFormat(fixture(run, 'postgresql.csv'))).toBe('csvlog');
    expect(detectLogFormat(fixture(run, 'postgresql.json'))).toBe('jsonlog');
    expect(detectLinePrefix(fixture(run, 'postgresql.log'))?.prefix).toBe(truth.prefix);
    const { events, reader } = readAll(fixture(run, 'postgresql.log'), 'auto');
    expect(reader.format).toBe('stderr');
    expect(reader.prefix).toBe(truth.prefix);
    expect(events.length).toBe(readAll(fixture(run, 'postgresql.log'), 'stderr', truth.prefix).events.length);
  });

  it.each(FORMATS)('gives the same events whatever the chunk sizes ($format)', ({ format, file }) => {
    const bytes = fixture(run, file);
    const whole = readAll(bytes, format, format === 'stderr' ? truth.prefix : undefined).events;
    for (const size of [1, 7, 100, 4096]) {
      const reader = createLogReader({ format, ...(format === 'stderr' ? { prefix: truth.prefix } : {}) });
      const events: LogEvent[] = [];
      for (let at = 0; at < bytes.length; at += size)
        events.push(...reader.push(bytes.subarray(at, at + size)));
      events.push(...reader.end());
      expect(events).toEqual(whole);
    }
  });
});
