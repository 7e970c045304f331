/**
 * `hindsight analyze` against pgBadger on the same PostgreSQL log: throughput (MB/s by wall
 * clock), peak RSS, and whether the counts agree. A script, not a test.
 *
 *   npm run bench:analyze                 # records a log, replicates it to ~300 MB
 *   npm run bench:analyze -- FILE --prefix '%m [%p] '   # a stderr log of your own
 *   options: --mb N (size of the generated log), --runs N (hindsight runs, median used; default 3),
 *            --pgbadger-jobs N (default 1), --skip-pgbadger
 *
 * The generated log: a few MB recorded from the local PostgreSQL under the workload of
 * test/fixtures/analyze/log-workload.ts (deadlocks, lock waits with every ending, timeouts,
 * serialization failures, unique violations, prepared statements with parameters, slow queries,
 * every statement of a busy session logged with its duration), then copied until it reaches the
 * size, each copy with its timestamps shifted past the previous copy and its pids renumbered
 * (also inside deadlock reports and lock-wait details), so that sessions do not mix.
 */
import { execFile, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import pg from 'pg';
import { LocalPostgres } from '../src/platform/local-postgres.js';
import { runWorkload, WORKLOAD_SETTINGS } from '../test/fixtures/analyze/log-workload.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const out = join(root, 'bench/out');
const PREFIX = '%m [%p] %q%u@%d/%a ';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : args[i + 1];
};
const positional = args.find((a, i) => !a.startsWith('--') && !(args[i - 1] ?? '').startsWith('--'));
const targetMb = Number(flag('mb') ?? 300);
const pgbadgerJobs = Number(flag('pgbadger-jobs') ?? 1);
const runCount = Math.max(1, Number(flag('runs') ?? 3));

async function recordBase(): Promise<string> {
  const file = join(out, 'analyze-base.log');
  if (existsSync(file)) return file;
  const server = await LocalPostgres.start({ settings: { ...WORKLOAD_SETTINGS, log_line_prefix: PREFIX } });
  try {
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE shop');
    await admin.end();
    console.log('recording a log from the local PostgreSQL (about 30 s)…');
    await runWorkload(server.url('shop'), 12, { busyStatements: 1500 });
    await server.stop();
    const name = (await readdir(server.logDirectory)).find((f) => !f.includes('.'));
    if (name === undefined) throw new Error('the server wrote no stderr log');
    await mkdir(out, { recursive: true });
    const { copyFile } = await import('node:fs/promises');
    await copyFile(join(server.logDirectory, name), file);
  } finally {
    await server.stop().catch(() => undefined);
    await rm(server.dataDir, { recursive: true, force: true });
  }
  return file;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const formatTimestamp = (ms: number): string => {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`;
};

/** Copies the base log until `mb` MB, shifting times and renumbering pids in each copy. */
async function replicate(base: string, mb: number): Promise<string> {
  const file = join(out, `analyze-${mb}mb.log`);
  if (existsSync(file)) return file;
  const text = readFileSync(base, 'utf8');
  const stamps = [...text.matchAll(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC/gm)].map((m) =>
    Date.parse(`${(m[1] ?? '').replace(' ', 'T')}Z`),
  );
  const first = Math.min(...stamps);
  const span = Math.max(...stamps) - first + 1_000;
  const pids = [...new Set([...text.matchAll(/^\S+ \S+ \S+ \[(\d+)\]/gm)].map((m) => m[1] ?? ''))];
  const pidPattern = new RegExp(`\\b(${pids.join('|')})\\b`, 'g');
  const copies = Math.max(1, Math.round((mb * 1e6) / Buffer.byteLength(text)));
  const stream = createWriteStream(file);
  for (let k = 0; k < copies; k++) {
    const shift = k * span;
    const cache = new Map<string, string>();
    const copy = text
      .replace(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC/gm, (_, stamp: string) => {
        let shifted = cache.get(stamp);
        if (shifted === undefined) {
          shifted = `${formatTimestamp(Date.parse(`${stamp.replace(' ', 'T')}Z`) + shift)} UTC`;
          cache.set(stamp, shifted);
        }
        return shifted;
      })
      .replace(pidPattern, (pid: string) => String(Number(pid) + k * 50_000));
    if (!stream.write(copy)) {
      await new Promise<void>((resolve) => {
        stream.once('drain', () => {
          resolve();
        });
      });
    }
  }
  await new Promise<void>((resolve, reject) => {
    stream.end((error?: Error | null) => {
      if (error) reject(error);
      else resolve();
    });
  });
  return file;
}

/** Runs a command under /usr/bin/time; returns its stdout, wall seconds and peak RSS in MB. */
interface Timed {
  readonly stdout: string;
  readonly seconds: number;
  readonly rssMb: number;
}

async function timed(command: string, commandArgs: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%e %M', command, ...commandArgs], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stderr.trimEnd().split('\n').at(-1) ?? '';
      const [seconds, kb] = last.split(' ').map(Number);
      if (code !== 0 || seconds === undefined || kb === undefined)
        reject(new Error(`${command} failed (${code}): ${stderr.slice(-2000)}`));
      else resolve({ stdout, seconds, rssMb: kb / 1024 });
    });
  });
}

async function ensurePgbadger(): Promise<void> {
  const found = await run('which', ['pgbadger']).then(
    () => true,
    () => false,
  );
  if (found) return;
  console.log('installing pgBadger (apt-get install -y pgbadger)…');
  await run('apt-get', ['update', '-qq'], { maxBuffer: 1 << 26 });
  await run('apt-get', ['install', '-y', '-qq', 'pgbadger'], { maxBuffer: 1 << 26 });
}

interface Counts {
  deadlocks: number;
  lockWaitsAcquired: number;
  lockTimeouts: number;
  statementTimeouts: number;
  serializationFailures: number;
  uniqueViolations: number;
}

interface HindsightJson {
  deadlocks: { total: number };
  blocking: { waits: number; endings: { acquired: number } };
  timeouts: { lockTimeouts: number; statementTimeouts: number; serializationFailures: number };
  errors: { total: number; groups: { sqlstate: string; count: number }[] };
}

interface PgbadgerJson {
  error_info?: Record<string, Record<string, { count?: number }>>;
  /** database → lock mode → { count, duration, <object kind>: {…} }: waits that ended in `acquired`. */
  lock_info?: Record<string, Record<string, { count?: number }>>;
}

function pgbadgerCounts(report: PgbadgerJson): Counts {
  const errors = new Map<string, number>();
  for (const database of Object.values(report.error_info ?? {})) {
    for (const [message, info] of Object.entries(database))
      errors.set(message, (errors.get(message) ?? 0) + (info.count ?? 0));
  }
  const sum = (test: (message: string) => boolean): number =>
    [...errors].filter(([m]) => test(m)).reduce((n, [, c]) => n + c, 0);
  return {
    deadlocks: sum((m) => m === 'ERROR:  deadlock detected'),
    lockWaitsAcquired: Object.values(report.lock_info ?? {}).reduce(
      (n, db) => n + Object.values(db).reduce((m, mode) => m + (mode.count ?? 0), 0),
      0,
    ),
    lockTimeouts: sum((m) => m === 'ERROR:  canceling statement due to lock timeout'),
    statementTimeouts: sum((m) => m === 'ERROR:  canceling statement due to statement timeout'),
    serializationFailures: sum((m) => m.startsWith('ERROR:  could not serialize access')),
    uniqueViolations: sum((m) => m.startsWith('ERROR:  duplicate key value violates unique constraint')),
  };
}

function hindsightCounts(report: HindsightJson): Counts {
  return {
    deadlocks: report.deadlocks.total,
    lockWaitsAcquired: report.blocking.endings.acquired,
    lockTimeouts: report.timeouts.lockTimeouts,
    statementTimeouts: report.timeouts.statementTimeouts,
    serializationFailures: report.timeouts.serializationFailures,
    uniqueViolations: report.errors.groups
      .filter((g) => g.sqlstate === '23505')
      .reduce((n, g) => n + g.count, 0),
  };
}

const file = positional ?? (await replicate(await recordBase(), targetMb));
const prefix = flag('prefix') ?? PREFIX;
const mb = statSync(file).size / 1e6;
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`log: ${file} (${mb.toFixed(1)} MB), prefix '${prefix}', load average ${load}`);

// The compiled CLI, as users run it (`hindsight` is dist/src/bin.js): tsx would add its own
// start-up time and ~50 MB of memory to each thread. Built into bench/out/dist so that the
// project's dist/ is left alone; `tsc` emits even if someone else's file does not typecheck.
console.log('building the CLI (tsc -p tsconfig.build.json --outDir bench/out/dist)…');
await run(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', 'bench/out/dist'],
  { cwd: root },
).catch(() => undefined);
const cli = join(out, 'dist/src/bin.js');
if (!existsSync(cli)) throw new Error(`the build did not produce ${cli}`);
// The machine may be shared: several runs, and the median is what the ratios use.
const runs: Timed[] = [];
for (let i = 0; i < runCount; i++) {
  const one = await timed(process.execPath, [
    cli,
    'analyze',
    file,
    '--json',
    '--no-progress',
    '--log-prefix',
    prefix,
  ]);
  runs.push(one);
  console.log(
    `hindsight analyze, run ${i + 1}: ${one.seconds.toFixed(2)} s, ${(mb / one.seconds).toFixed(1)} MB/s, peak RSS ${one.rssMb.toFixed(0)} MB`,
  );
}
const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
const hindsight = sorted[Math.floor(sorted.length / 2)] as Timed;
const hindsightMbs = mb / hindsight.seconds;
const peakRss = Math.max(...runs.map((r) => r.rssMb));
const ours = hindsightCounts(JSON.parse(hindsight.stdout) as HindsightJson);
console.log(
  `hindsight analyze (median of ${runs.length}): ${hindsight.seconds.toFixed(2)} s, ${hindsightMbs.toFixed(1)} MB/s, peak RSS ${peakRss.toFixed(0)} MB (target < 200 MB)`,
);

// Node's readline over the same file: the "merely reading it line by line" baseline of issue 3.
const readlineStart = performance.now();
let readlineLines = 0;
for await (const _line of createInterface({ input: createReadStream(file), crlfDelay: Infinity }))
  readlineLines++;
const readlineMbs = mb / ((performance.now() - readlineStart) / 1000);
console.log(
  `node readline, lines only: ${readlineMbs.toFixed(1)} MB/s (${readlineLines} lines) → hindsight is ${(hindsightMbs / readlineMbs).toFixed(2)}× that`,
);
console.log(
  `against issue 3's anchors (pgBadger 12 on its machine): ${(hindsightMbs / 2.47).toFixed(0)}× pgBadger -j 1 (2.47 MB/s, target 40×), ${(hindsightMbs / 4.81).toFixed(0)}× pgBadger -j 2 (4.81 MB/s, target 20×), target ≥ 100 MB/s: ${hindsightMbs >= 100 ? 'met' : 'NOT met'}`,
);

if (!args.includes('--skip-pgbadger')) {
  await ensurePgbadger();
  const json = join(out, 'pgbadger.json');
  const pgbadger = await timed('pgbadger', [
    '-q',
    '-f',
    'stderr',
    '--prefix',
    prefix,
    '-j',
    String(pgbadgerJobs),
    '-x',
    'json',
    '-o',
    json,
    file,
  ]);
  const theirs = pgbadgerCounts(JSON.parse(readFileSync(json, 'utf8')) as PgbadgerJson);
  console.log(
    `pgBadger -j ${pgbadgerJobs}: ${pgbadger.seconds.toFixed(1)} s, ${(mb / pgbadger.seconds).toFixed(1)} MB/s, peak RSS ${pgbadger.rssMb.toFixed(0)} MB`,
  );
  console.log(
    `ratio on this machine: hindsight is ${(pgbadger.seconds / hindsight.seconds).toFixed(1)}× faster than pgBadger -j ${pgbadgerJobs}`,
  );
  console.log('\ncount                  hindsight   pgBadger');
  let agree = true;
  for (const key of Object.keys(ours) as (keyof Counts)[]) {
    const same = ours[key] === theirs[key];
    agree &&= same;
    console.log(
      `${key.padEnd(22)} ${String(ours[key]).padStart(9)} ${String(theirs[key]).padStart(10)}${same ? '' : '   DIFFERENT'}`,
    );
  }
  console.log(agree ? '\ncounts agree' : '\ncounts DIFFER');
  if (!agree) process.exitCode = 1;
} else {
  console.log(JSON.stringify(ours));
}
