import {
  appendFile,
  chmod,
  mkdtemp,
  rename,
  rm,
  truncate,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEvent } from '../../../../src/core/log-event.js';
import { isHindsightError } from '../../../../src/core/errors.js';
import { tailLog, type LogTailProblem } from '../../../../src/agent/targets/postgres/log-tailer.js';

const PREFIX = '%m [%p] ';
const line = (pid: number, message: string) => `2026-03-01 15:00:00.000 UTC [${pid}] LOG:  ${message}\n`;

/** Polls until `check` holds (the tailer polls every 20 ms here). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('tailLog on a file that rotates, shrinks and vanishes', () => {
  let directory: string;
  let controller: AbortController;
  let events: LogEvent[];
  let problems: LogTailProblem[];
  let tail: Promise<void> | undefined;
  let opened: string[];

  const start = (path: string, options: { fromStart?: boolean } = {}) => {
    tail = tailLog(path, {
      format: 'stderr',
      prefix: PREFIX,
      pollMs: 20,
      signal: controller.signal,
      onEvents: (batch) => events.push(...batch),
      onProblem: (problem) => problems.push(problem),
      onOpen: (path) => opened.push(path),
      ...options,
    });
  };
  /** The tailer has opened its first file and taken its position (its end, by default). */
  const started = () => until(() => opened.length > 0, 'the tailer to open the file');
  const messages = () => events.map((event) => event.message);

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'hindsight-tail-'));
    controller = new AbortController();
    events = [];
    problems = [];
    opened = [];
  });

  afterEach(async () => {
    controller.abort();
    await tail;
    await rm(directory, { recursive: true, force: true });
  });

  it('starts at the end, then follows appends, rotation, truncation and a vanished file', async () => {
    const file = join(directory, 'postgresql.log');
    await writeFile(file, line(1, 'old, before the tail started'));
    start(file);
    await started();
    await appendFile(file, line(2, 'appended'));
    await until(() => messages().includes('appended'), 'the appended line');
    expect(messages()).not.toContain('old, before the tail started');

    // A stderr entry is complete only when the next one starts, or when the file goes quiet.
    await appendFile(file, line(3, 'deadlock soon') + line(3, 'x').replace('LOG:  x', 'DETAIL:  details'));
    await until(() => events.some((e) => e.message === 'deadlock soon'), 'the quiet flush');
    expect(events.find((e) => e.message === 'deadlock soon')?.detail).toBe('details');

    // Rotation: a new file takes the name (atomically); the old one's last line is still read.
    await appendFile(file, line(4, 'last line of the old file'));
    await writeFile(`${file}.new`, line(5, 'first line of the new file'));
    await rename(`${file}.new`, file);
    await until(() => messages().includes('first line of the new file'), 'the new file');
    expect(messages()).toContain('last line of the old file');
    expect(problems.map((p) => p.kind)).toContain('rotated');

    // Truncation (copytruncate): the size shrinks below what was read; reading starts over.
    await appendFile(file, line(6, 'padding so that the truncated file is smaller'));
    await until(() => messages().includes('padding so that the truncated file is smaller'), 'padding');
    await truncate(file, 0);
    await appendFile(file, line(7, 'after truncation'));
    await until(() => messages().includes('after truncation'), 'the line after truncation');
    expect(problems.map((p) => p.kind)).toContain('truncated');

    // The file vanishes for a while, then comes back.
    await unlink(file);
    await until(() => problems.some((p) => p.kind === 'vanished'), 'the vanished report');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await writeFile(file, line(8, 'back again'));
    await until(() => messages().includes('back again'), 'the file back');
    expect(problems.map((p) => p.kind)).toContain('reappeared');
    expect(messages().filter((m) => m === 'back again')).toHaveLength(1);
  });

  it('reads from the start when asked, and stops when the signal aborts', async () => {
    const file = join(directory, 'postgresql.log');
    await writeFile(file, line(1, 'one') + line(1, 'two'));
    start(file, { fromStart: true });
    await until(() => messages().length === 2, 'both lines');
    controller.abort();
    await tail;
    await appendFile(file, line(1, 'three'));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(messages()).toEqual(['one', 'two']);
  });

  it('follows the newest file of a log directory as the collector switches files', async () => {
    const older = join(directory, 'postgresql-2026-03-01_140000.log');
    await writeFile(older, line(1, 'older file'));
    await utimes(older, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    await writeFile(join(directory, 'postgresql-2026-03-01_150000.csv'), 'not read: another format\n');
    const current = join(directory, 'postgresql-2026-03-01_150000.log');
    await writeFile(current, line(1, 'current file, before the tail'));
    start(directory);
    await started();
    expect(opened).toEqual([current]);
    await appendFile(current, line(2, 'current file, appended'));
    await until(() => messages().includes('current file, appended'), 'the appended line');
    const next = join(directory, 'postgresql-2026-03-01_160000.log');
    await writeFile(next, line(3, 'next file'));
    await until(() => messages().includes('next file'), 'the next file');
    expect(messages()).toEqual(['current file, appended', 'next file']);
  });

  it('rejects at once with a clear user error when the file cannot be read', async () => {
    const missing = join(directory, 'nope.log');
    const error: unknown = await tailLog(missing, {
      format: 'stderr',
      signal: controller.signal,
      onEvents: () => undefined,
    }).catch((e: unknown) => e);
    expect(isHindsightError(error) && error.kind).toBe('user');
    expect((error as Error).message).toMatch(/^cannot read log file .*nope\.log: no such file/);

    if (userInfo().uid === 0) return; // root reads any file: permissions cannot be tested as root
    const locked = join(directory, 'locked.log');
    await writeFile(locked, line(1, 'secret'));
    await chmod(locked, 0o000);
    const denied: unknown = await tailLog(locked, {
      format: 'stderr',
      signal: controller.signal,
      onEvents: () => undefined,
    }).catch((e: unknown) => e);
    expect((denied as Error).message).toMatch(/^cannot read log file .*locked\.log: permission denied — /);
  });
});
