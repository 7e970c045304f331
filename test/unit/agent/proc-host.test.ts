import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcHostReader, isLocalHost } from '../../../src/agent/host/proc-host-reader.js';
import {
  isPostgresCommand,
  parseLoadAvg,
  parseMemInfo,
  parsePidStat,
  parseProcStat,
} from '../../../src/agent/host/proc-text.js';
import { hostFigures } from '../../../src/core/host-figures.js';
import { FakeClock } from '../../support/fake-clock.js';
import { T0, sample, session } from '../../support/sample-builder.js';

// Recorded on a 2-CPU Debian 12 host (kernel 6.x) running the embedded PostgreSQL.
const PROC_STAT = [
  'cpu  2000067 10019 161072 407061 971 0 5916 3681 0 0',
  'cpu0 999617 4743 79690 205090 532 0 2892 1823 0 0',
  'cpu1 1000450 5275 81381 201970 438 0 3023 1857 0 0',
  'intr 123 0 0',
  'ctxt 456',
  '',
].join('\n');
const LOADAVG = '15.96 13.78 11.99 16/279 30188\n';
const MEMINFO =
  'MemTotal:       24684092 kB\nMemFree:        17727256 kB\nMemAvailable:   21506152 kB\nBuffers:          123 kB\n';
const BACKEND_STAT = (pid: number, ppid: number, utime: number, stime: number, name = 'postgres') =>
  `${pid} (${name}) S ${ppid} ${ppid} ${ppid} 0 -1 4194560 1234 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 1297158 231313408 4321 18446744073709551615 1 1 0 0 0 0 4194304 19935232 1082277379 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n`;

describe('/proc parsers', () => {
  it('reads the cpu line, load, memory and a process', () => {
    expect(parseProcStat(PROC_STAT)).toEqual({
      total: 2000067 + 10019 + 161072 + 407061 + 971 + 0 + 5916 + 3681,
      idle: 407061 + 971,
      cpus: 2,
    });
    expect(parseLoadAvg(LOADAVG)).toEqual([15.96, 13.78, 11.99]);
    expect(parseMemInfo(MEMINFO)).toEqual({ totalBytes: 24684092 * 1024, availableBytes: 21506152 * 1024 });
    expect(parsePidStat(BACKEND_STAT(30140, 30131, 812, 95))).toEqual({ ppid: 30131, ticks: 907 });
  });

  it('counts fields after the last parenthesis: a command name may hold spaces and parentheses', () => {
    expect(parsePidStat(BACKEND_STAT(7, 1, 10, 5, 'a) b (c'))).toEqual({ ppid: 1, ticks: 15 });
  });

  it('refuses text it cannot read', () => {
    expect(parseProcStat('intr 1\n')).toBeNull();
    expect(parseLoadAvg('')).toBeNull();
    expect(parseMemInfo('MemTotal: 1 kB\n')).toBeNull();
    expect(parsePidStat('12 (x) S')).toBeNull();
  });

  it('tells PostgreSQL processes by their command line', () => {
    expect(
      isPostgresCommand('/usr/lib/postgresql/17/bin/postgres\u0000-D\u0000/var/lib/postgresql/17/main\u0000'),
    ).toBe(true);
    expect(isPostgresCommand('postgres: app shop 10.0.0.1(5432) UPDATE\u0000')).toBe(true);
    expect(isPostgresCommand('postgres: checkpointer ')).toBe(true);
    expect(isPostgresCommand('/usr/bin/node\u0000postgres.js\u0000')).toBe(false);
    expect(isPostgresCommand('/usr/bin/postgres_exporter\u0000')).toBe(false);
  });

  it('knows a local target', () => {
    for (const host of ['', '/var/run/postgresql', 'localhost', '127.0.0.1', '::1'])
      expect(isLocalHost(host)).toBe(true);
    for (const host of ['db.internal', '10.0.0.5']) expect(isLocalHost(host)).toBe(false);
  });
});

describe('createProcHostReader on a recorded /proc tree', () => {
  let root: string;
  const write = async (path: string, text: string): Promise<void> => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  };
  const backend = async (
    pid: number,
    ppid: number,
    utime: number,
    cmdline = 'postgres: app shop [local] SELECT',
  ): Promise<void> => {
    await write(`${pid}/stat`, BACKEND_STAT(pid, ppid, utime, 0));
    await write(`${pid}/cmdline`, `${cmdline}\u0000`);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'hindsight-proc-'));
    await write('stat', PROC_STAT);
    await write('loadavg', LOADAVG);
    await write('meminfo', MEMINFO);
    await write('500/stat', BACKEND_STAT(500, 1, 0, 0));
    await write('500/cmdline', '/usr/lib/postgresql/17/bin/postgres\u0000-D\u0000/data\u0000');
    await symlink(tmpdir(), join(root, '500', 'cwd'));
    await backend(501, 500, 100);
    await backend(502, 500, 7);
    // A pid of the sample that, in this /proc, belongs to another program (a container's server).
    await backend(503, 1, 900, '/usr/bin/python3');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads the host and the ticks of the postmaster’s children only', async () => {
    const clock = new FakeClock(T0);
    const reader = createProcHostReader({
      targetHost: '/var/run/postgresql',
      clock,
      procRoot: root,
      ticksPerSecond: 100,
    });
    const first = await reader.read([501, 502, 503], new AbortController().signal);
    expect(first).toMatchObject({ at: T0, cpus: 2, load: [15.96, 13.78, 11.99], ticksPerSecond: 100 });
    expect([...(first?.processTicks ?? [])]).toEqual([
      [501, 100],
      [502, 7],
    ]);
    expect(first?.disk?.path).toBe(tmpdir());
    expect(first?.disk?.totalBytes).toBeGreaterThan(0);

    // Two seconds later: 501 used 150 ticks (0.75 of a core), 502 none; the host 60% busy.
    clock.advance(2_000);
    await backend(501, 500, 250);
    await write(
      'stat',
      PROC_STAT.replace('cpu  2000067 10019 161072 407061', 'cpu  2000307 10019 161072 407221'),
    );
    const second = await reader.read([501, 502, 503], new AbortController().signal);
    const s = sample(T0 + 2_000, {
      sessions: [
        session(501, { query: 'SELECT count(*) FROM generate_series($1, $2)' }),
        session(502, { state: 'idle' }),
      ],
    });
    const figures = hostFigures(first!, second!, s);
    expect(figures.cpuBusy).toBeCloseTo(0.6);
    expect(figures.backends).toEqual([
      expect.objectContaining({
        pid: 501,
        cores: 0.75,
        query: 'SELECT count(*) FROM generate_series($1, $2)',
      }),
    ]);
    expect(figures.backendCores).toBeCloseTo(0.75);
  });

  it('is null for a remote target, and when no backend is a PostgreSQL process here', async () => {
    const clock = new FakeClock(T0);
    const signal = new AbortController().signal;
    expect(
      await createProcHostReader({ targetHost: 'db.internal', clock, procRoot: root }).read([501], signal),
    ).toBeNull();
    expect(
      await createProcHostReader({ targetHost: '127.0.0.1', clock, procRoot: root }).read([503, 999], signal),
    ).toBeNull();
  });
});

describe('hostFigures', () => {
  const reading = (at: number, ticks: [number, number][], total = 1000, idle = 500) => ({
    at,
    cpuTicks: { total, idle },
    cpus: 2,
    load: [1, 1, 1] as const,
    memory: { totalBytes: 10, availableBytes: 5 },
    disk: null,
    processTicks: new Map(ticks),
    ticksPerSecond: 100,
  });

  it('leaves out pids born or gone between readings, and a reused pid whose ticks went down', () => {
    const figures = hostFigures(
      reading(T0, [
        [1, 100],
        [2, 500],
        [3, 10],
      ]),
      reading(
        T0 + 1_000,
        [
          [1, 150],
          [2, 20],
          [4, 90],
        ],
        1200,
        600,
      ),
      sample(T0 + 1_000, { sessions: [session(1)] }),
    );
    expect(figures.backends.map((b) => [b.pid, b.cores])).toEqual([[1, 0.5]]);
    expect(figures.cpuBusy).toBeCloseTo(0.5);
  });
});
