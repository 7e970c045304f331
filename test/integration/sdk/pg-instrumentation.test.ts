import { readdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DeadlockReport } from '../../../src/core/log-event.js';
import { parseSqlTags } from '../../../src/core/sql-comment-tags.js';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';
import { interpretLogEvent } from '../../../src/postgres-log/log-signal.js';
import { createHindsight } from '../../../src/sdk/index.js';
import type { Hindsight } from '../../../src/sdk/index.js';
import type { WireQueryFailureEvent, WireRequestEvent } from '../../../src/sdk/wire-event.js';
import { createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';
import { startEventReceiver } from '../../support/sdk-event-receiver.js';
import type { EventReceiver } from '../../support/sdk-event-receiver.js';

const THIS_FILE = 'test/integration/sdk/pg-instrumentation.test.ts';
const source = await readFile(new URL(import.meta.url), 'utf8');
/** The line of this file that carries `marker` in a comment: the call site the SDK must name. */
const lineOf = (marker: string): string => {
  const index = source.split('\n').findIndex((line) => line.includes(`// site: ${marker}`));
  if (index < 0) throw new Error(`no line marked ${marker}`);
  return `${THIS_FILE}:${index + 1}`;
};

let db: TestDatabase;
let receiver: EventReceiver;
let hindsight: Hindsight;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('sdk_pg');
  receiver = await startEventReceiver();
  hindsight = createHindsight({
    service: 'shop',
    release: 'v2',
    endpoint: receiver.url,
    token: 't',
    flushIntervalMs: 50,
    appRoot: join(import.meta.dirname, '../../..'),
  });
  hindsight.instrumentPg(pg);
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await pool.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
  await pool.query('INSERT INTO accounts VALUES (1, 100), (2, 100)');
});

afterAll(async () => {
  await pool.end();
  await hindsight.close();
  await receiver.close();
  await db.drop();
});

const failures = (): WireQueryFailureEvent[] =>
  receiver.events().filter((e): e is WireQueryFailureEvent => e.kind === 'query_failure');
const requests = (): WireRequestEvent[] =>
  receiver.events().filter((e): e is WireRequestEvent => e.kind === 'request');

describe('sqlcommenter tags, first in the statement', () => {
  it('a Pool statement in a job carries service, release, job and the app’s call site (as PostgreSQL received it)', async () => {
    const q = 'SELECT current_query() AS q';
    const result = await hindsight.job('restock', () => pool.query<{ q: string }>(q)); // site: tagged-pool
    const sent = result.rows[0]!.q;
    expect(sent.startsWith('/*callsite=')).toBe(true);
    expect(parseSqlTags(sent)).toEqual({
      tags: { callsite: lineOf('tagged-pool'), job: 'restock', release: 'v2', service: 'shop' },
      sql: 'SELECT current_query() AS q',
    });
  });

  it('a Client statement after setRelease carries the new release; a named prepared statement keeps its text', async () => {
    const client = await pool.connect();
    try {
      hindsight.setRelease('v2.1');
      const tagged = await client.query<{ q: string }>({ text: 'SELECT current_query() AS q' }); // site: tagged-client
      expect(parseSqlTags(tagged.rows[0]!.q).tags).toEqual({
        callsite: lineOf('tagged-client'),
        release: 'v2.1',
        service: 'shop',
      });
      // pg refuses one statement name with two texts: a named statement is never tagged.
      for (let i = 0; i < 2; i++) {
        const named = await client.query<{ q: string }>({
          name: 'current',
          text: 'SELECT current_query() AS q',
        });
        expect(named.rows[0]!.q).toBe('SELECT current_query() AS q');
      }
      // A statement that already carries our tags is not tagged twice.
      const once = await client.query<{ q: string }>("/*service='other'*/ SELECT current_query() AS q");
      expect(once.rows[0]!.q).toBe("/*service='other'*/ SELECT current_query() AS q");
    } finally {
      hindsight.setRelease('v2');
      client.release();
    }
  });
});

describe('failed statements: every form pg accepts keeps its behaviour and is recorded', () => {
  it('promise, callback, values + callback, config.callback, Submittable and Pool forms', async () => {
    const client = await pool.connect();
    const before = failures().length;
    try {
      // Promise: the app gets pg's own error.
      const error = await client.query('SELECT 1 / $1::int', [0]).catch((e: unknown) => e); // site: promise
      expect(error).toBeInstanceOf(pg.DatabaseError);
      expect((error as pg.DatabaseError).code).toBe('22012');
      // Callback forms: called once with the error, `this` as pg passes it.
      const viaCallback = await new Promise<unknown>((resolve) => {
        client.query('SELECT * FROM no_such_table', resolve); // site: callback
      });
      expect((viaCallback as pg.DatabaseError).code).toBe('42P01');
      const viaValues = await new Promise<unknown>((resolve) => {
        client.query('INSERT INTO accounts VALUES ($1, 0)', [1], resolve); // site: values-callback
      });
      expect((viaValues as pg.DatabaseError).code).toBe('23505');
      const viaConfig = await new Promise<unknown>((resolve) => {
        const config = { text: 'SELECT 1::int / 0', callback: resolve } as unknown as pg.QueryConfig;
        void client.query(config); // site: config-callback
      });
      expect((viaConfig as pg.DatabaseError).code).toBe('22012');
      // Submittable: pg.Query emits 'error'.
      const submitted = await new Promise<unknown>((resolve) => {
        const query = client.query(new pg.Query('SELECT nope FROM accounts')); // site: submittable
        query.on('error', resolve);
      });
      expect((submitted as pg.DatabaseError).code).toBe('42703');
      // Successes are untouched.
      const ok = await client.query<{ n: number }>('SELECT $1::int AS n', [7]);
      expect(ok.rows).toEqual([{ n: 7 }]);
    } finally {
      client.release();
    }
    const poolError = await pool.query("SELECT 'x'::int").catch((e: unknown) => e); // site: pool
    expect((poolError as pg.DatabaseError).code).toBe('22P02');

    await receiver.waitFor(() => failures().length >= before + 6);
    const got = failures()
      .slice(before)
      .map((e) => ({ job: e.job, release: e.release, ...e.failure }));
    expect(got).toEqual([
      {
        job: null,
        release: 'v2',
        sqlstate: '22012',
        query: 'SELECT $1 / $2::int',
        callSite: lineOf('promise'),
      },
      {
        job: null,
        release: 'v2',
        sqlstate: '42P01',
        query: 'SELECT * FROM no_such_table',
        callSite: lineOf('callback'),
      },
      {
        job: null,
        release: 'v2',
        sqlstate: '23505',
        query: 'INSERT INTO accounts VALUES ($1, $2)',
        callSite: lineOf('values-callback'),
      },
      {
        job: null,
        release: 'v2',
        sqlstate: '22012',
        query: 'SELECT $1::int / $2',
        callSite: lineOf('config-callback'),
      },
      {
        job: null,
        release: 'v2',
        sqlstate: '42703',
        query: 'SELECT nope FROM accounts',
        callSite: lineOf('submittable'),
      },
      { job: null, release: 'v2', sqlstate: '22P02', query: 'SELECT $1::int', callSite: lineOf('pool') },
    ]);
  });

  it('a failure in a job names the job', async () => {
    const before = failures().length;
    await hindsight.job('nightly', async () => {
      await pool.query('SELECT 1 / 0').catch(() => null); // site: job
    });
    await receiver.waitFor(() => failures().length > before);
    expect(failures().at(-1)).toMatchObject({
      job: 'nightly',
      failure: { sqlstate: '22012', callSite: lineOf('job') },
    });
  });
});

describe('a deadlock inside requests (Express + pg.Pool on the real server)', () => {
  let server: Server;
  let base: string;
  /** Both transactions hold their first row before either asks for its second. */
  let arrived = 0;
  let bothHoldFirstRow: () => void = () => undefined;
  const barrier = new Promise<void>((resolve) => {
    bothHoldFirstRow = resolve;
  });

  beforeAll(async () => {
    const app = express();
    app.use(hindsight.express());
    app.post('/transfer/:from/:to', async (req, res) => {
      hindsight.identify(`user-${req.params.from}`);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [
          Number(req.params.from),
        ]);
        if (++arrived === 2) bothHoldFirstRow();
        await barrier;
        const to = [Number(req.params.to)];
        await client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', to); // site: deadlock
        await client.query('COMMIT');
        res.json({ ok: true });
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('yields a request event with 40P01 at the handler’s line, and the tags land in the server log’s deadlock report', async () => {
    const statuses = await Promise.all([
      fetch(`${base}/transfer/1/2`, { method: 'POST' }),
      fetch(`${base}/transfer/2/1`, { method: 'POST' }),
    ]).then((rs) => rs.map((r) => r.status).sort());
    expect(statuses).toEqual([200, 500]);
    await receiver.waitFor(() => requests().filter((r) => r.route === '/transfer/:from/:to').length === 2);
    const [victim] = requests().filter((r) => r.route === '/transfer/:from/:to' && r.status === 500);
    expect(victim).toMatchObject({
      method: 'POST',
      route: '/transfer/:from/:to',
      status: 500,
      errorClass: 'DatabaseError',
      release: 'v2',
      sqlFailures: [
        {
          sqlstate: '40P01',
          query: 'UPDATE accounts SET balance = balance + $1 WHERE id = $2',
          callSite: lineOf('deadlock'),
        },
      ],
    });
    expect(victim!.user).toMatch(/^[0-9a-f]{32}$/);

    const logDirectory = inject('pgLogDirectory');
    if (logDirectory === '') return; // an external server: its log is not ours to read
    const wanted = {
      callsite: lineOf('deadlock'),
      release: 'v2',
      route: 'POST /transfer/:from/:to',
      service: 'shop',
    };
    let report: DeadlockReport | undefined;
    for (let attempt = 0; report === undefined && attempt < 50; attempt++) {
      const files = (await readdir(logDirectory))
        .filter((f) => !f.endsWith('.csv') && !f.endsWith('.json'))
        .sort();
      const text = await readFile(join(logDirectory, files.at(-1)!));
      expect(files.length).toBeGreaterThan(0);
      const reader = createLogReader({ format: 'auto' });
      for (const event of [...reader.push(text), ...reader.end()]) {
        const signal = interpretLogEvent(event);
        if (signal?.kind !== 'deadlock') continue;
        if (signal.report.processes.some((p) => p.tags?.callsite === wanted.callsite)) report = signal.report;
      }
      if (report === undefined)
        await new Promise((resolve) => setTimeout(resolve, 100)); // the collector writes asynchronously
      else {
        // The raw log line holds the comment itself, in sqlcommenter form.
        expect(text.toString('utf8')).toContain(
          `/*callsite='${encodeURIComponent(wanted.callsite)}',release='v2',route='POST%20%2Ftransfer%2F%3Afrom%2F%3Ato',service='shop'*/ UPDATE accounts`,
        );
      }
    }
    expect(report, 'a deadlock report naming this file in the server log').toBeDefined();
    expect(report!.processes.map((p) => p.tags)).toEqual([wanted, wanted]);
  });
});
