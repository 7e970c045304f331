import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEvent } from '../../../../src/core/log-event.js';
import { openLogPositionFile } from '../../../../src/agent/targets/postgres/log-position-file.js';
import { tailLog, type LogTailProblem } from '../../../../src/agent/targets/postgres/log-tailer.js';

/**
 * serve restarts (an upgrade, a crash): the tailer goes on where the last run stopped, kept in a
 * position file, instead of at the log's end — what was written while it was down is read, once.
 */
const PREFIX = '%m [%p] ';
const line = (n: number) => `2026-03-01 15:00:00.000 UTC [7] LOG:  line ${n}\n`;
const lines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => line(from + i)).join('');

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('tailLog across restarts, with a position file', () => {
  let directory: string;
  let file: string;
  let positions: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'hindsight-resume-'));
    file = join(directory, 'postgresql.log');
    positions = join(directory, 'state', 'shop-db.json');
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  /** One run of the tailer: its events and problems, and `stop()` that waits for the position on disk. */
  async function run() {
    const controller = new AbortController();
    const events: LogEvent[] = [];
    const problems: LogTailProblem[] = [];
    const store = await openLogPositionFile(positions, (message) =>
      problems.push({ kind: 'unreadable', message }),
    );
    let opened = false;
    const done = tailLog(file, {
      format: 'stderr',
      prefix: PREFIX,
      pollMs: 20,
      signal: controller.signal,
      resume: store,
      onEvents: (batch) => events.push(...batch),
      onProblem: (problem) => problems.push(problem),
      onOpen: () => (opened = true),
    });
    await until(() => opened, 'the tailer to open the file');
    const numbers = () => events.map((e) => Number(/^line (\d+)$/.exec(e.message)?.[1]));
    return {
      numbers,
      problems,
      async stop() {
        controller.abort();
        await done;
        await store.settled();
      },
    };
  }

  it('goes on where the last run stopped: the lines written while it was down are read, once', async () => {
    writeFileSync(file, lines(1, 2));
    const first = await run();
    appendFileSync(file, lines(3, 5));
    await until(() => first.numbers().length === 3, 'lines 3-5');
    await new Promise((resolve) => setTimeout(resolve, 100)); // quiet: the position is kept
    await first.stop();
    expect(JSON.parse(readFileSync(positions, 'utf8'))).toMatchObject({
      path: file,
      position: 5 * line(1).length,
    });

    appendFileSync(file, lines(6, 8)); // while down
    const second = await run();
    await until(() => second.numbers().length === 3, 'lines 6-8');
    appendFileSync(file, line(9));
    await until(() => second.numbers().length === 4, 'line 9');
    await second.stop();
    expect(first.numbers()).toEqual([3, 4, 5]);
    expect(second.numbers()).toEqual([6, 7, 8, 9]);
    expect(second.problems).toEqual([
      { kind: 'resumed', message: expect.stringContaining('going on where the last run stopped') as string },
    ]);
  });

  it('reads the rest of the rotated file, found by its inode, then the new one from its start', async () => {
    writeFileSync(file, '');
    const first = await run();
    appendFileSync(file, lines(1, 2));
    await until(() => first.numbers().length === 2, 'lines 1-2');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.stop();

    appendFileSync(file, line(3)); // while down, then logrotate
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines(4, 5));
    const second = await run();
    await until(() => second.numbers().length === 3, 'lines 3-5');
    await second.stop();
    expect([...second.numbers()].sort()).toEqual([3, 4, 5]);
    expect(second.problems[0]?.message).toMatch(
      /was rotated since the last run: reading the rest of .*postgresql\.log\.1/,
    );
  });

  it('starts at the end when the file was truncated meanwhile, and says why', async () => {
    writeFileSync(file, '');
    const first = await run();
    appendFileSync(file, lines(1, 3));
    await until(() => first.numbers().length === 3, 'lines 1-3');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.stop();

    writeFileSync(file, line(10)); // same inode, emptied and rewritten
    const second = await run();
    appendFileSync(file, line(11));
    await until(() => second.numbers().length === 1, 'line 11');
    await second.stop();
    expect(second.numbers()).toEqual([11]);
    expect(second.problems[0]?.message).toMatch(/truncated since the last run; reading from its end/);
  });
});
