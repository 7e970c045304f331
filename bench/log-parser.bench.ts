/**
 * Throughput of the shared PostgreSQL log reader (src/postgres-log/) on a large
 * synthetic log: each recorded fixture repeated N times (default 2000, ~40–70 MB per format), fed
 * in 1 MiB chunks as a file read would. Prints MB/s by wall clock and by CPU time of this process
 * (the machine may be shared); best of 3 rounds. A script, not a test: nothing is asserted.
 *
 *   npx tsx bench/log-parser.bench.ts [repeat]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogReader } from '../src/postgres-log/log-reader.js';
import { interpretLogEvent } from '../src/postgres-log/log-signal.js';
import { recordedEntries, toJournalJson, toSyslog } from '../test/fixtures/analyze/syslog-shapes.js';

const repeat = Number(process.argv[2] ?? 2000);
const fixtures = join(import.meta.dirname, '../test/fixtures/postgres-logs');
const CHUNK = 1024 * 1024;

const cases = [
  {
    name: "stderr  '%m [%p] %q%u@%d '",
    file: 'prefix-default/postgresql.log',
    format: 'stderr',
    prefix: '%m [%p] %q%u@%d ',
  },
  {
    name: "stderr  '%t:%r:%u@%d:[%p]:'",
    file: 'prefix-remote/postgresql.log',
    format: 'stderr',
    prefix: '%t:%r:%u@%d:[%p]:',
  },
  { name: 'csvlog', file: 'prefix-default/postgresql.csv', format: 'csvlog' },
  { name: 'jsonlog', file: 'prefix-default/postgresql.json', format: 'jsonlog' },
  // The stderr recording as rsyslog (Debian's defaults) and `journalctl -o json` store it.
  {
    name: 'syslog  [seq-chunk], #011',
    file: 'prefix-default/postgresql.log',
    format: 'syslog',
    prefix: '%m [%p] %q%u@%d ',
    envelope: 'syslog',
  },
  {
    name: 'journald -o json',
    file: 'prefix-default/postgresql.log',
    format: 'journald',
    prefix: '%m [%p] %q%u@%d ',
    envelope: 'journald',
  },
] as const;

function repeated(file: string): Buffer {
  const one = readFileSync(join(fixtures, file));
  return repeatBytes(one);
}

function enveloped(file: string, envelope: 'syslog' | 'journald'): Buffer {
  const entries = recordedEntries(readFileSync(join(fixtures, file), 'utf8'));
  const text =
    envelope === 'syslog'
      ? toSyslog(entries, { shape: 'traditional', sequenceNumbers: true, split: true })
      : toJournalJson(entries, { numbered: true });
  return repeatBytes(Buffer.from(text));
}

function repeatBytes(one: Buffer): Buffer {
  const big = Buffer.allocUnsafe(one.length * repeat);
  for (let i = 0; i < repeat; i++) one.copy(big, i * one.length);
  return big;
}

console.log(
  `log reader throughput, each fixture x${repeat}, ${CHUNK / 1024} KiB chunks, Node ${process.version}`,
);
for (const spec of cases) {
  const big = 'envelope' in spec ? enveloped(spec.file, spec.envelope) : repeated(spec.file);
  const mb = big.length / 1e6;
  for (const interpret of [false, true]) {
    let bestWall = 0;
    let bestCpu = 0;
    let events = 0;
    for (let round = 0; round < 3; round++) {
      const reader = createLogReader({
        format: spec.format,
        ...('prefix' in spec ? { prefix: spec.prefix } : {}),
        year: { year: 2026 },
      });
      const wall0 = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      events = 0;
      for (let at = 0; at < big.length; at += CHUNK) {
        const batch = reader.push(big.subarray(at, at + CHUNK));
        events += batch.length;
        if (interpret) for (const event of batch) interpretLogEvent(event);
      }
      events += reader.end().length;
      const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      bestWall = Math.max(bestWall, mb / wall);
      bestCpu = Math.max(bestCpu, mb / ((cpu.user + cpu.system) / 1e6));
    }
    const what = interpret ? `${spec.name} + interpret` : spec.name;
    console.log(
      `${what.padEnd(42)} ${mb.toFixed(0).padStart(4)} MB  ${String(events).padStart(7)} events  ` +
        `${bestWall.toFixed(0).padStart(4)} MB/s wall  ${bestCpu.toFixed(0).padStart(4)} MB/s cpu`,
    );
  }
}
