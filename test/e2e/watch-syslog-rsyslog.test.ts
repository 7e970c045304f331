import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../src/analyze/analysis-report.js';
import { runAnalysis } from '../../src/analyze/run-analysis.js';
import { parseAnalyzeOptions } from '../../src/config/analyze-options.js';
import type { BlockingEpisodeFinding, DeadlockFinding, Finding } from '../../src/core/finding.js';
import type { LogFormatChoice } from '../../src/core/log-event.js';
import { LocalPostgres } from '../../src/platform/local-postgres.js';
import { runWorkload, WORKLOAD_SETTINGS, type WorkloadTruth } from '../fixtures/analyze/log-workload.js';
import { CliProcess } from '../support/cli-process.js';
import { makeDeadlock } from '../support/deadlock.js';

/**
 * Issue 13's syslog recording: a real PostgreSQL sends its log through the C library's syslog()
 * — always to /dev/log — where a real rsyslogd (Debian's package, our config only) listens with
 * imuxsock and writes two files: Debian's default layout (RSYSLOG_TraditionalFileFormat) and the
 * RFC 3339 one (RSYSLOG_FileFormat). csvlog is written by the same server in the same run: the
 * twin every count is checked against. Meanwhile `hindsight watch` follows the traditional file
 * (`--log FILE --log-format syslog`), which is rotated as logrotate does (rename, then HUP), and a
 * second watch reads the RFC 3339 one from a pipe (`tail -F FILE | hindsight watch --log -`).
 */
const RSYSLOGD = '/usr/sbin/rsyslogd';
const PREFIX = '%m [%p] %q%u@%d %e ';
const ident = `pg_hs_${randomBytes(3).toString('hex')}`;

let directory: string;
let rsyslogd: ChildProcess;
let server: LocalPostgres;
let truth: WorkloadTruth;
let fileWatch: CliProcess;
let pipeWatch: CliProcess;
let tail: ChildProcess;
let extraDeadlockAt = 0;
const cleanups: (() => Promise<unknown>)[] = [];
let traditional: string;
let iso: string;

const isFinding = (line: unknown): line is Finding =>
  typeof line === 'object' && line !== null && 'kind' in line && typeof line.kind === 'string';
const loggedDeadlock =
  (table: string) =>
  (line: unknown): line is DeadlockFinding =>
    isFinding(line) &&
    line.kind === 'deadlock' &&
    line.source === 'log' &&
    line.processes.some((p) => (p.relation ?? '').includes(table) || (p.query ?? '').includes(table));

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
const holds = (file: string, text: string) => existsSync(file) && readFileSync(file, 'utf8').includes(text);

async function startRsyslog(): Promise<void> {
  // PostgreSQL's syslog() cannot be pointed elsewhere: /dev/log must be ours for this run. A socket
  // left by a killed run refuses connections (logger fails): it is removed; a live daemon's is not.
  if (existsSync('/dev/log')) {
    const probe = spawnSync('logger', [
      '-u',
      '/dev/log',
      '--socket-errors=on',
      '-t',
      'hindsight-probe',
      'probe',
    ]);
    if (probe.status === 0)
      throw new Error(
        '/dev/log is held by a running syslog daemon; stop it — this test runs its own rsyslogd there, where PostgreSQL sends its syslog output',
      );
    await rm('/dev/log', { force: true });
  }
  const conf = join(directory, 'rsyslog.conf');
  await writeFile(
    conf,
    [
      `global(workDirectory="${directory}")`,
      // No system socket, no klog, no /etc/rsyslog.conf: only what this file says.
      'module(load="imuxsock" SysSock.Use="off")',
      // Rate limiting off: the workload logs hundreds of lines a second from one process.
      'input(type="imuxsock" Socket="/dev/log" CreatePath="on" RateLimit.Interval="0")',
      `if $programname == "${ident}" then {`,
      `  action(type="omfile" file="${traditional}" template="RSYSLOG_TraditionalFileFormat")`,
      `  action(type="omfile" file="${iso}" template="RSYSLOG_FileFormat")`,
      '}',
      '',
    ].join('\n'),
  );
  rsyslogd = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(directory, 'rsyslogd.pid')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await until(
    () => existsSync('/dev/log') || rsyslogd.exitCode !== null,
    'rsyslogd to open /dev/log',
    10_000,
  );
  if (rsyslogd.exitCode !== null) throw new Error(`rsyslogd exited with ${rsyslogd.exitCode}`);
}

async function stopped(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill(signal);
  });
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'hindsight-rsyslog-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  await chmod(directory, 0o755);
  traditional = join(directory, 'postgresql.log');
  iso = join(directory, 'postgresql-iso.log');
  await startRsyslog();
  cleanups.push(() => stopped(rsyslogd));
  server = await LocalPostgres.start({
    settings: {
      ...WORKLOAD_SETTINGS,
      log_destination: 'syslog,csvlog',
      syslog_ident: ident,
      syslog_facility: 'local0',
      log_line_prefix: PREFIX,
    },
  });
  cleanups.push(async () => {
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
  });
  await until(
    () => holds(traditional, 'database system is ready to accept connections'),
    'the first syslog lines',
  );
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE shop');
  await admin.end();
  const shop = server.url('shop');

  cleanups.push(async () => Promise.allSettled([fileWatch.stop(), pipeWatch.stop(), stopped(tail)]));
  fileWatch = new CliProcess([
    'watch',
    shop,
    '--json',
    '--interval',
    '0.25',
    '--log',
    traditional,
    '--log-format',
    'syslog',
  ]);
  // A real pipe between two processes: tail's stdout is the watch's stdin.
  tail = spawn('tail', ['-n', '+1', '-F', iso], { stdio: ['ignore', 'pipe', 'ignore'] });
  pipeWatch = new CliProcess(
    ['watch', shop, '--json', '--interval', '0.25', '--blocking-threshold', '0.5', '--log', '-'],
    {},
    { stdin: tail.stdout! },
  );
  tail.stdout!.destroy(); // the watch holds the pipe; this process reads none of it
  await until(
    () => fileWatch.stderr.includes('watching') && pipeWatch.stderr.includes('watching'),
    'both watches to start',
  );
  await new Promise((resolve) => setTimeout(resolve, 1500));

  truth = await runWorkload(shop, 1, { busyStatements: 5 });

  // logrotate's way: the file renamed, the daemon told with HUP to reopen its files.
  await until(() => holds(traditional, 'deadlock detected'), 'the deadlocks in the syslog file');
  await new Promise((resolve) => setTimeout(resolve, 500));
  await rename(traditional, `${traditional}.1`);
  rsyslogd.kill('SIGHUP');
  const [a, b] = [new pg.Client({ connectionString: shop }), new pg.Client({ connectionString: shop })];
  await Promise.all([a.connect(), b.connect()]);
  try {
    await a.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
    await a.query('INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 4) g');
    extraDeadlockAt = await makeDeadlock(a, b);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
}, 180_000);

afterAll(async () => {
  // Last started, first stopped (each was registered once it ran).
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe('PostgreSQL through a real rsyslogd', () => {
  it('watch --log FILE --log-format syslog names the deadlocks, before and after the file rotated', async () => {
    const before = await fileWatch.waitFor(loggedDeadlock('products'), 20_000);
    expect(before.victimPid).not.toBeNull();
    const after = await fileWatch.waitFor(loggedDeadlock('accounts'), 20_000);
    expect(after.victimPid).not.toBeNull();
    expect(after.processes.map((p) => p.query ?? '')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/UPDATE accounts SET balance = balance [+-] \$1 WHERE id = \$2/),
      ]),
    );
    expect(Date.now() - extraDeadlockAt).toBeLessThan(20_000);
    expect(fileWatch.stderr).toMatch(
      /log file (rotated; now reading|.* is back; reading) .*postgresql\.log from the start/,
    );
  });

  it('watch --log - reads the syslog lines piped from tail -F, says when the pipe ends, and goes on sampling', async () => {
    await pipeWatch.waitFor(loggedDeadlock('products'), 20_000);
    await pipeWatch.waitFor(loggedDeadlock('accounts'), 20_000);
    await stopped(tail);
    await until(() => pipeWatch.stderr.includes('standard input ended'), 'the end of the pipe', 10_000);
    expect(pipeWatch.stderr).toMatch(
      /standard input ended after \d+ lines \(the command piping the log exited\)/,
    );

    // Sampling goes on without the log: a lock wait is still seen.
    const [holder, waiter] = [
      new pg.Client({ connectionString: server.url('shop') }),
      new pg.Client({ connectionString: server.url('shop') }),
    ];
    await Promise.all([holder.connect(), waiter.connect()]);
    try {
      await holder.query('BEGIN');
      await holder.query('UPDATE accounts SET balance = 0 WHERE id = 3');
      const waiting = waiter.query('UPDATE accounts SET balance = 1 WHERE id = 3');
      const episode = await pipeWatch.waitFor(
        (line): line is BlockingEpisodeFinding => isFinding(line) && line.kind === 'blocking_episode',
        10_000,
      );
      expect(episode.kind).toBe('blocking_episode');
      await holder.query('COMMIT');
      await waiting;
    } finally {
      await Promise.all([holder.end(), waiter.end()]);
    }
    expect(pipeWatch.child.exitCode).toBeNull();
  });

  it('analyze counts the syslog files exactly as the csvlog twin of the same run', async () => {
    await Promise.all([fileWatch.stop(), pipeWatch.stop()]);
    await server.stop();
    await until(() => holds(iso, 'database system is shut down'), 'the last syslog line');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stopped(rsyslogd);

    const analyze = (files: string[], logFormat?: LogFormatChoice): Promise<AnalysisReport> =>
      runAnalysis(
        parseAnalyzeOptions(files, {
          progress: false,
          jobs: '0',
          logPrefix: PREFIX,
          ...(logFormat === undefined ? {} : { logFormat }),
        }),
        { stderr: process.stderr },
      );
    const counts = (report: AnalysisReport) => ({
      deadlocks: report.deadlocks.total,
      waits: report.blocking.waits,
      endings: report.blocking.endings,
      timeouts: report.timeouts,
      errors: Object.fromEntries(
        [...new Set(report.errors.groups.map((g) => g.sqlstate))]
          .sort()
          .map((code) => [
            code,
            report.errors.groups.filter((g) => g.sqlstate === code).reduce((sum, g) => sum + g.count, 0),
          ]),
      ),
      durations: report.slowQueries.all.count,
    });
    const twin = counts(await analyze([join(server.logDirectory, 'postgresql.csv')]));
    expect(twin.deadlocks).toBe(truth.deadlocks + 1);
    expect(twin.errors['40P01']).toBe(truth.deadlocks + 1);
    expect(twin.durations).toBeGreaterThan(0);
    expect(twin.waits).toBeGreaterThan(0);

    const rotated = await analyze([`${traditional}.1`, traditional], 'syslog');
    expect(counts(rotated)).toEqual(twin);
    // Detected, not told: the RFC 3339 file, one file.
    const detected = await analyze([iso]);
    expect(counts(detected)).toEqual(twin);
    // What makes syslog hard was in the recording: messages split over [n-m] lines, tabs as #011.
    const recorded = readFileSync(`${traditional}.1`, 'utf8');
    expect(recorded).toMatch(/\]: \[\d+-[2-9]\] /);
    expect(recorded).toContain('#011');
    expect(recorded).toMatch(
      new RegExp(`^\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ ${ident}\\[\\d+\\]: \\[\\d+-1\\] `, 'm'),
    );
  });
});
