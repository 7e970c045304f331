/**
 * `npx tsx bench/pg-isolation-suite.ts DIR [NAME…]`: runs PostgreSQL's own isolation suite through
 * `race --expected`'s comparison (isolationTesterOutput) and counts the specs whose output is
 * identical to an expected file. DIR is src/test/isolation of a PostgreSQL checkout of the same
 * major as the server (fetched for development, never committed here): its isolation_schedule
 * gives the order, specs/NAME.spec the input, expected/NAME.out (or NAME_1.out … as pg_regress
 * accepts) the answer. A script, not a test.
 *
 * The database is made like pg_regress makes its own (named isolation_regression; lc_* 'C',
 * bytea_output hex, PGTZ and PGDATESTYLE as database settings) on a throwaway server with max_prepared_transactions on
 * and compute_query_id = regress (the local server loads pg_stat_statements; EXPLAIN hides the id).
 * Output: one line per spec (ok / differs / error, seconds) and the totals; each actual output
 * and diff goes to OUT (default $TMPDIR/pg-isolation-results).
 * Environment: OUT, SPEC_TIMEOUT_S (default 120).
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { LocalPostgres } from '../src/platform/local-postgres.js';
import { isolationTesterOutput, unifiedDiff } from '../src/race/isolation-output.js';
import { loadSpecFile } from '../src/race/spec-loader.js';

const [dir, ...only] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: tsx bench/pg-isolation-suite.ts SRC_TEST_ISOLATION_DIR [spec names…]\n');
  process.exit(2);
}
const outDir = process.env.OUT ?? join(tmpdir(), 'pg-isolation-results');
const specTimeoutMs = Number(process.env.SPEC_TIMEOUT_S ?? 120) * 1000;
await mkdir(outDir, { recursive: true });

const schedule = (await readFile(join(dir, 'isolation_schedule'), 'utf8'))
  .split('\n')
  .flatMap((line) => (/^test:\s+/.test(line) ? line.replace(/^test:\s+/, '').split(/\s+/) : []))
  .filter((n) => n !== '' && (only.length === 0 || only.includes(n)));
const expectedFiles = await readdir(join(dir, 'expected'));

const server = await LocalPostgres.start({
  settings: { max_prepared_transactions: 10, compute_query_id: 'regress' },
});
const admin = new pg.Client({ connectionString: server.url() });
await admin.connect();
const counts = { ok: 0, differs: 0, error: 0 };
try {
  for (const name of schedule) {
    // pg_regress's name: a few specs name their database.
    const db = 'isolation_regression';
    await admin.query(`CREATE DATABASE ${db} TEMPLATE template0`);
    for (const setting of [
      "lc_messages TO 'C'",
      "lc_monetary TO 'C'",
      "lc_numeric TO 'C'",
      "lc_time TO 'C'",
      "bytea_output TO 'hex'",
      "timezone_abbreviations TO 'Default'",
      "timezone TO 'America/Los_Angeles'",
      "datestyle TO 'Postgres, MDY'",
    ])
      await admin.query(`ALTER DATABASE ${db} SET ${setting}`);
    const url = new URL(server.url());
    url.pathname = `/${db}`;
    const t0 = performance.now();
    let verdict: 'ok' | 'differs' | 'error';
    let note = '';
    try {
      const spec = await loadSpecFile(join(dir, 'specs', `${name}.spec`));
      const run = isolationTesterOutput(spec, { url: url.toString() });
      // A run given up on fails later, when its database is dropped.
      run.catch(() => {
        /* reported as over time */
      });
      let timer: NodeJS.Timeout | undefined;
      const actual = await Promise.race([
        run,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`over ${specTimeoutMs / 1000} s`));
          }, specTimeoutMs);
        }),
      ]).finally(() => {
        clearTimeout(timer);
      });
      await writeFile(join(outDir, `${name}.out`), actual);
      const candidates = expectedFiles.filter((f) => f === `${name}.out` || f.startsWith(`${name}_`));
      const diffs = await Promise.all(
        candidates.map(async (f) =>
          unifiedDiff(await readFile(join(dir, 'expected', f), 'utf8'), actual, [f, `${name} (race)`]),
        ),
      );
      const best = diffs.reduce((a, b) => (b.length < a.length ? b : a), diffs[0] ?? 'no expected file\n');
      verdict = diffs.includes('') ? 'ok' : 'differs';
      if (verdict === 'differs') {
        await writeFile(join(outDir, `${name}.diff`), best);
        note = `${best.split('\n').filter((l) => /^[-+][^-+]/.test(l)).length} lines`;
      }
    } catch (cause) {
      verdict = 'error';
      note = String(cause).split('\n')[0] ?? '';
      await writeFile(join(outDir, `${name}.error`), `${String(cause)}\n`);
    }
    counts[verdict]++;
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    process.stdout.write(`${verdict.padEnd(8)} ${name.padEnd(40)} ${seconds.padStart(6)} s  ${note}\n`);
    await admin.query(`DROP DATABASE ${db} WITH (FORCE)`).catch(() => undefined);
  }
} finally {
  await admin.end();
  await server.destroy();
}
process.stdout.write(
  `\n${counts.ok} identical, ${counts.differs} differ, ${counts.error} failed to run, of ${schedule.length} specs (results in ${outDir})\n`,
);
