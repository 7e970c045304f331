import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../../src/analyze/analysis-report.js';
import { parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';
import { LocalPostgres } from '../../../src/platform/local-postgres.js';
import { runWorkload, WORKLOAD_SETTINGS, type WorkloadTruth } from '../../fixtures/analyze/log-workload.js';

// A server of its own: these logging settings (and a prefix with %e and second-resolution %t)
// differ from the suite's shared server.
const PREFIX = '%t:%r:%u@%d:[%p]:%e ';
let server: LocalPostgres;
let truth: WorkloadTruth;
let stderrLines: string[];

beforeAll(async () => {
  server = await LocalPostgres.start({ settings: { ...WORKLOAD_SETTINGS, log_line_prefix: PREFIX } });
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE shop');
  await admin.end();
  truth = await runWorkload(server.url('shop'), 1, { busyStatements: 5 });
  await server.stop();
  stderrLines = readFileSync(join(server.logDirectory, 'postgresql'), 'utf8').split('\n');
});

afterAll(async () => {
  await rm(server.dataDir, { recursive: true, force: true });
});

const grep = (pattern: RegExp): number => stderrLines.filter((line) => pattern.test(line)).length;
// The prefix is given as a user would with --log-prefix: this test is about counting, not detection.
const analyze = (
  file: string,
  flags: { jobs?: string } = {},
  splitMinBytes?: number,
): Promise<AnalysisReport> =>
  runAnalysis(
    parseAnalyzeOptions([join(server.logDirectory, file)], {
      progress: false,
      jobs: '0',
      logPrefix: PREFIX,
      ...flags,
    }),
    {
      stderr: process.stderr,
      ...(splitMinBytes === undefined ? {} : { splitMinBytes }),
    },
  );

describe.each(['postgresql', 'postgresql.csv', 'postgresql.json'])('analyze %s recorded just now', (file) => {
  it('reports the counts the clients saw and a line scan of the stderr log finds', async () => {
    const report = await analyze(file);
    expect(report.inputs[0]?.entries).toBeGreaterThan(50);
    expect(report.deadlocks.total).toBe(truth.deadlocks);
    expect(report.deadlocks.total).toBe(grep(/:40P01 ERROR: {2}deadlock detected$/));
    expect(report.blocking.waits).toBe(
      grep(/ LOG: {2}process \d+ (still waiting for|detected deadlock while waiting for) /),
    );
    expect(report.blocking.endings['lock-timeout']).toBe(truth.lockTimeouts);
    expect(report.blocking.endings['statement-timeout']).toBe(truth.statementTimeoutsWhileWaiting);
    expect(report.blocking.endings.cancel).toBe(truth.cancelsWhileWaiting);
    expect(report.blocking.endings.acquired).toBe(grep(/ LOG: {2}process \d+ acquired /));
    expect(report.timeouts).toMatchObject({
      lockTimeouts: truth.lockTimeouts,
      statementTimeouts: truth.statementTimeouts,
      cancels: truth.cancelsWhileWaiting,
      serializationFailures: truth.serializationFailures,
    });
    for (const [code, n] of Object.entries(truth.errors)) {
      expect(
        report.errors.groups.filter((g) => g.sqlstate === code).reduce((sum, g) => sum + g.count, 0),
        code,
      ).toBe(n);
    }
    expect(report.slowQueries.all.count).toBe(
      grep(/ LOG: {2}duration: [\d.]+ ms {2}(statement|execute [^:]*):/),
    );
    const prepared = report.slowQueries.groups.find(
      (g) => g.fingerprint === 'SELECT qty FROM inventory WHERE id = $1 AND qty > $2',
    );
    expect(prepared?.count).toBe(3);
    expect(prepared?.parameters).not.toBeNull();
    expect(
      report.slowQueries.groups.find((g) => g.fingerprint === 'UPDATE inventory SET qty = $1 WHERE id = $2')
        ?.victims,
    ).toBe(1);
  });

  it('gives the same report from worker threads reading byte ranges', async () => {
    const single = await analyze(file);
    const split = await analyze(file, { jobs: '2' }, 1);
    expect({ ...split, inputs: [] }).toEqual({ ...single, inputs: [] });
  });
});
