/**
 * `npm run bench:race`: the opposite-order row update deadlock found, minimized and reported,
 * timed from nothing: starting a throwaway local PostgreSQL (a copy of a cached template cluster;
 * initdb only on a machine's first run), exploring, shrinking and formatting the report.
 * Budget: 2 s (issue 4). Prints the figures.
 * A script, not a test; bench/README.md records them.
 *
 * Options (environment): RUNS (default 3): repetitions of the race part on the same server.
 */
import { existsSync } from 'node:fs';
import { loadavg, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { openRaceServer } from '../src/race/race-database.js';
import { formatResult } from '../src/race/race-report.js';
import { runRace } from '../src/race/race-runner.js';
import { loadSpecFile } from '../src/race/spec-loader.js';

const RUNS = Number(process.env.RUNS ?? 3);
const BUDGET_MS = 2000;
const spec = await loadSpecFile(
  join(import.meta.dirname, '../test/fixtures/race/opposite-order-deadlock.yaml'),
);

// The first run on a machine runs initdb into a template cluster; later runs copy it.
const templateReady = existsSync(join(tmpdir(), `hindsight-race-template-${userInfo().uid}`, 'PG_VERSION'));
const t0 = performance.now();
const server = await openRaceServer();
const tServer = performance.now();
try {
  const figures: { db: number; race: number; report: number; total: number; schedules: number }[] = [];
  let report = '';
  for (let i = 0; i < RUNS; i++) {
    const start = i === 0 ? t0 : performance.now();
    const a = performance.now();
    const url = await server.createDatabase();
    const b = performance.now();
    const result = await runRace(spec, { url, stopAtFirst: true });
    const c = performance.now();
    report = formatResult(result);
    const d = performance.now();
    if (result.findings[0]?.finding.kind !== 'deadlock') throw new Error(`no deadlock found:\n${report}`);
    figures.push({ db: b - a, race: c - b, report: d - c, total: d - start, schedules: result.schedules });
  }
  console.log(report);
  console.log('');
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const how = templateReady
    ? 'copy of the template cluster + pg_ctl start'
    : 'first run: initdb of the template + copy + start';
  console.log(`local PostgreSQL start (${how}): ${(tServer - t0).toFixed(0)} ms`);
  console.log('run  scratch db  explore+shrink  report  total (ms)  schedules');
  figures.forEach((f, i) => {
    const label = i === 0 ? '1 (incl. server start)' : String(i + 1);
    console.log(
      `${label.padEnd(22)} ${f.db.toFixed(0).padStart(5)} ${f.race.toFixed(0).padStart(14)} ${f.report.toFixed(1).padStart(7)} ${f.total.toFixed(0).padStart(10)} ${String(f.schedules).padStart(10)}`,
    );
  });
  const first = figures[0]?.total ?? Infinity;
  console.log(
    `\nfound + minimized + reported from a cold start: ${first.toFixed(0)} ms (budget ${BUDGET_MS} ms): ${first <= BUDGET_MS ? 'OK' : 'OVER BUDGET'}`,
  );
} finally {
  await server.close();
}
