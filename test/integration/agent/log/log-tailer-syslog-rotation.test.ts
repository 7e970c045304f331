import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEvent } from '../../../../src/core/log-event.js';
import { tailLog, type LogTailProblem } from '../../../../src/agent/targets/postgres/log-tailer.js';

/**
 * Syslog files rotate under a daemon that keeps writing: logrotate renames the file and creates a
 * new one, but rsyslog writes to the old one until the postrotate HUP reopens it; or copytruncate
 * copies it aside and empties it in place. No line may be lost either way.
 */
const PREFIX = '%m [%p] ';
const syslogLine = (n: number, second = 0) =>
  `Mar  1 15:00:${String(second).padStart(2, '0')} db1 postgres[42]: [${n}-1] 2026-03-01 15:00:${String(second).padStart(2, '0')}.000 UTC [42] LOG:  line ${n}\n`;
const lines = (from: number, to: number, second = 0) =>
  Array.from({ length: to - from + 1 }, (_, i) => syslogLine(from + i, second)).join('');

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('tailLog on a syslog file that logrotate rotates', () => {
  let directory: string;
  let file: string;
  let controller: AbortController;
  let events: LogEvent[];
  let problems: LogTailProblem[];
  let tail: Promise<void> | undefined;

  /** Resolves once the tailer has opened the file and taken its end as its position. */
  const start = async (pollMs: number) => {
    let opened = false;
    tail = tailLog(file, {
      onOpen: () => (opened = true),
      format: 'syslog',
      prefix: PREFIX,
      pollMs,
      signal: controller.signal,
      onEvents: (batch) => events.push(...batch),
      onProblem: (problem) => problems.push(problem),
    });
    await until(() => opened, 'the tailer to open the file');
  };
  const numbers = () => events.map((event) => Number(/^line (\d+)$/.exec(event.message)?.[1]));
  const all = (to: number) => Array.from({ length: to }, (_, i) => i + 1);

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'hindsight-syslog-rotate-'));
    file = join(directory, 'postgresql.log');
    controller = new AbortController();
    events = [];
    problems = [];
  });

  afterEach(async () => {
    controller.abort();
    await tail;
    await rm(directory, { recursive: true, force: true });
  });

  it('reads the lines the daemon still writes to the renamed file until it reopens (create + HUP)', async () => {
    writeFileSync(file, '');
    await start(20);
    appendFileSync(file, lines(1, 3));
    await until(() => numbers().length === 3, 'the first lines');
    renameSync(file, `${file}.1`);
    writeFileSync(file, ''); // logrotate's `create`
    appendFileSync(`${file}.1`, lines(4, 5)); // the daemon, not yet told
    await until(() => problems.some((p) => p.kind === 'rotated'), 'the rotation');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the switch is long done
    appendFileSync(`${file}.1`, lines(6, 7)); // still the daemon's file: postrotate runs late
    appendFileSync(file, lines(8, 9)); // reopened
    await until(() => numbers().length >= 9, 'every line');
    expect([...numbers()].sort((a, b) => a - b)).toEqual(all(9));
  });

  it('reads what was appended just before a copytruncate from the copy, even when the file refilled past our position', async () => {
    writeFileSync(file, lines(1, 3));
    await start(400);
    appendFileSync(file, lines(4, 5));
    await until(() => numbers().length === 2, 'the appended lines');
    // Within one poll: lines 6-7 written, the file copied aside and emptied, then refilled with more
    // than it held before (so its size alone does not show the truncation).
    appendFileSync(file, lines(6, 7));
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, lines(8, 20, 1));
    await until(() => numbers().length >= 15, 'every line', 8000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(numbers()).toEqual([4, 5, 6, 7, ...all(20).slice(7)]);
    const truncated = problems.find((p) => p.kind === 'truncated');
    expect(truncated?.message).toContain(`its last lines read from ${file}.1`);
  });
});
