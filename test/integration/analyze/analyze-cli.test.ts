import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli-process.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const log = join(root, 'test/fixtures/analyze/recorded/postgresql.log');
const work = mkdtempSync(join(tmpdir(), 'hindsight-analyze-cli-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** `hindsight analyze ARGS` as a process, optionally with a file on stdin. */
const analyze = (args: string[], stdinFile?: string) =>
  runCli(['analyze', ...args], {
    env: { NO_COLOR: '1' },
    ...(stdinFile === undefined ? {} : { stdin: readFileSync(stdinFile) }),
  });

describe('hindsight analyze (the CLI)', () => {
  it('--help names each format and platform with the command that reads it, and --log-timezone', async () => {
    const { code, stdout } = await analyze(['--help']);
    expect(code).toBe(0);
    for (const platform of [
      'syslog',
      'journald',
      'CloudNativePG',
      'Google Cloud SQL',
      'Heroku Postgres',
      'AWS RDS / Aurora (CLI JSON)',
      'Azure flexible server',
    ])
      expect(stdout).toContain(platform);
    expect(stdout).toContain('aws rds download-db-log-file-portion');
    expect(stdout).toContain('--log-timezone Asia/Kolkata');
    expect(stdout).toMatch(
      /--log-format <format>\s+auto \(told from the first lines\), stderr, .*azure, rds/s,
    );
  });

  it('--log-timezone that is not a zone stops with what to pass (exit 2)', async () => {
    const { code, stderr } = await analyze([log, '--log-timezone', 'IST']);
    expect(code).toBe(2);
    expect(stderr).toContain('--log-timezone "IST" is an abbreviation');
  });

  it('reads stdin (-) and prints JSON', async () => {
    const { code, stdout } = await analyze(['-', '--json'], log);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { deadlocks: { total: number }; inputs: { name: string }[] };
    expect(report.deadlocks.total).toBe(6);
    expect(report.inputs[0]?.name).toBe('stdin');
  });

  it('reads a pipe named on the command line, as `analyze <(zcat old.log.gz)` gives it', async () => {
    const fifo = join(work, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // The writer blocks until the CLI opens the pipe; it must not be read at an offset.
    const writing = writeFile(fifo, gzipSync(readFileSync(log)));
    const [{ code, stdout, stderr }] = await Promise.all([analyze([fifo, '--json']), writing]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as {
      deadlocks: { total: number };
      inputs: { name: string; format: string }[];
    };
    expect(report.inputs[0]).toMatchObject({ name: fifo, format: "stderr '%m [%p] %q%u@%d/%a '" });
    expect(report.deadlocks.total).toBe(6);
  });

  it('reads gzip from stdin too (known by its first bytes)', async () => {
    const gz = join(work, 'log.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(root, 'test/fixtures/analyze/recorded/postgresql.csv'))));
    const { code, stdout } = await analyze(['-', '--json'], gz);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { deadlocks: { total: number }; inputs: { format: string }[] };
    expect(report.inputs[0]?.format).toBe('csvlog');
    expect(report.deadlocks.total).toBe(6);
  });

  it('prints the text report by default, Markdown with --md, and writes --html', async () => {
    const html = join(work, 'report.html');
    const text = await analyze([log, '--html', html]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^hindsight analyze {2}/);
    expect(text.stdout).toMatch(/\n» 6 deadlocks between /);
    expect(text.stderr).toMatch(/wrote the HTML report to /);
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>/);
    const md = await analyze([log, '--md']);
    expect(md.stdout).toMatch(/^# PostgreSQL log analysis/);
  });

  it('exits 2 with a message that says what to do when nothing is recognised', async () => {
    const garbage = join(work, 'garbage.txt');
    writeFileSync(garbage, 'hello\nworld\n');
    const { code, stderr, stdout } = await analyze([garbage]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /0 entries recognised in .*garbage\.txt: is this a PostgreSQL log\?.*\[ANALYZE_NOTHING_RECOGNISED\]/s,
    );
  });

  it('--html into a directory that does not exist: exit 2 in one line before any log is read', async () => {
    // A log that is not there either: the --html problem is reported first, nothing is read.
    const { code, stderr, stdout } = await analyze([
      join(work, 'not-there.log'),
      '--html',
      '/nonexistent/dir/report.html',
    ]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      'hindsight: cannot write /nonexistent/dir/report.html: /nonexistent/dir does not exist or is not writable. Choose a writable path for --html. [ANALYZE_HTML_UNWRITABLE]',
    ]);
  });
});
