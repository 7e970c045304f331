import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LogEvent, LogFormat } from '../../../../src/core/log-event.js';
import { createLogReader } from '../../../../src/postgres-log/log-reader.js';
import { interpretLogEvent } from '../../../../src/postgres-log/log-signal.js';
import { tailStream, type LogTailProblem } from '../../../../src/agent/targets/postgres/log-tailer.js';
import { recordedEntries, toJournalJson } from '../../../fixtures/analyze/syslog-shapes.js';

const RECORDED_PREFIX = '%m [%p] %q%u@%d/%a ';

/**
 * `watch --log -`: the log arrives on a pipe from another process (`kubectl logs -f`,
 * `journalctl -f -o json`). Here a real child process (sh with head/tail) pipes a log recorded
 * from a real PostgreSQL, cut in the middle of a line with a pause, as a live pipe delivers it.
 */
const recorded = join(import.meta.dirname, '../../../fixtures/analyze/recorded');
const truth = JSON.parse(readFileSync(join(recorded, 'truth.json'), 'utf8')) as {
  deadlocks: number;
  errors: Record<string, number>;
};

let directory: string;
const children: ChildProcessByStdio<null, Readable, null>[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'hindsight-stdin-'));
  const stderr = readFileSync(join(recorded, 'postgresql.log'), 'utf8');
  await writeFile(
    join(directory, 'journal.json'),
    toJournalJson(recordedEntries(stderr), { numbered: false }),
  );
  return () => rm(directory, { recursive: true, force: true });
});

afterEach(() => {
  for (const child of children.splice(0)) {
    child.kill('SIGKILL');
    child.stdout.destroy();
  }
});

function readAll(file: string, format: LogFormat): LogEvent[] {
  const reader = createLogReader({ format });
  return [...reader.push(readFileSync(file)), ...reader.end()];
}

/** `sh` writing the first `cut` bytes of `file`, pausing `pauseS`, then the rest — a pipe, not a file. */
function pipeOf(file: string, cut: number, pauseS: number): Readable {
  const child = spawn('sh', ['-c', `head -c ${cut} "$0"; sleep ${pauseS}; tail -c +${cut + 1} "$0"`, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return child.stdout;
}

async function follow(input: Readable, onEvents: (events: LogEvent[]) => void = () => undefined) {
  const events: LogEvent[] = [];
  const problems: LogTailProblem[] = [];
  await tailStream(input, 'standard input', {
    format: 'auto',
    pollMs: 100,
    signal: new AbortController().signal,
    onEvents: (batch) => {
      events.push(...batch);
      onEvents(batch);
    },
    onProblem: (problem) => problems.push(problem),
  });
  return { events, problems };
}

describe.each([
  ['stderr (kubectl logs of the official image)', join(recorded, 'postgresql.log')],
  ['jsonlog', join(recorded, 'postgresql.json')],
  ['journald (journalctl -o json)', 'journal.json'],
])('a %s log piped into standard input', (_, name) => {
  it('is detected from its first lines and counted as the recording was, its end reported', async () => {
    const file = name.startsWith('/') ? name : join(directory, name);
    // Cut in the middle of the 41st line: the first chunk holds session lines, not only the
    // server's start (whose lines cannot tell a prefix's %q part), as `kubectl logs -f` gives a tail.
    const text = readFileSync(file);
    let cut = 0;
    for (let n = 0; n < 40; n++) cut = text.indexOf(10, cut) + 1;
    const { events, problems } = await follow(pipeOf(file, cut + 30, 0.3));
    const signals = events.map(interpretLogEvent);
    expect(signals.filter((s) => s?.kind === 'deadlock')).toHaveLength(truth.deadlocks);
    // The entries of the csvlog twin of the same run, one for one (stderr's prefix has no %e: no SQLSTATE).
    const twin = readAll(join(recorded, 'postgresql.csv'), 'csvlog');
    const shape = (e: LogEvent) => `${e.pid ?? ''} ${e.severity} ${e.message}`;
    expect(events.map(shape)).toEqual(twin.map(shape));
    const errors = twin.filter((e) => e.severity === 'ERROR').length;
    expect(errors).toBe(Object.values(truth.errors).reduce((a, b) => a + b, 0));
    expect(problems.map((p) => p.kind)).toEqual(['ended']);
    expect(problems[0]?.message).toMatch(
      /^standard input ended after \d+ lines \(the command piping the log exited\): .*sampling goes on/,
    );
  });
});

describe('a pipe that goes quiet', () => {
  it('hands on what it has read while the command is still running, and stops on abort', async () => {
    const controller = new AbortController();
    const events: LogEvent[] = [];
    const problems: LogTailProblem[] = [];
    // The first 40 lines, then nothing for a minute (a quiet server behind kubectl logs -f).
    const child = spawn('sh', ['-c', 'head -n 40 "$0"; exec sleep 60', join(recorded, 'postgresql.log')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const done = tailStream(child.stdout, 'standard input', {
      format: 'auto',
      pollMs: 100,
      signal: controller.signal,
      onEvents: (batch) => events.push(...batch),
      onProblem: (problem) => problems.push(problem),
    });
    const forty = readFileSync(join(recorded, 'postgresql.log'), 'utf8').split('\n').slice(0, 40).join('\n');
    const reader = createLogReader({ format: 'stderr', prefix: RECORDED_PREFIX });
    const expected = [...reader.push(Buffer.from(`${forty}\n`)), ...reader.end()].length;
    expect(expected).toBeGreaterThan(15);
    const deadline = Date.now() + 5000;
    while (events.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Every entry of the 40 lines, the last one too (complete only once the pipe went quiet).
    expect(events).toHaveLength(expected);
    controller.abort();
    await done;
    expect(problems).toEqual([]);
  });
});
