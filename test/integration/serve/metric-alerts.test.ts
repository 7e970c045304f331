import { Writable } from 'node:stream';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATEMENTS_RESOLUTION_MS } from '../../../src/app/metric-rule-cycle.js';
import { showIncident } from '../../../src/cli/commands/incident-run.js';
import { describeProblem, parseConfig } from '../../../src/config/config-file.js';
import type { HindsightConfig } from '../../../src/config/config-schema.js';
import type { ServeOptions } from '../../../src/config/server-options.js';
import type { Alert } from '../../../src/core/alert.js';
import type { IncidentLoad } from '../../../src/core/incident-load.js';
import type { Incident } from '../../../src/core/incident.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { serveDeps } from '../../../src/serve-deps.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const TOKEN = 'ci-token-0123456789';

function config(lines: readonly string[], env: Record<string, string>): HindsightConfig {
  const result = parseConfig(lines.join('\n'), { env });
  if (!result.ok) throw new Error(result.problems.map(describeProblem).join('\n'));
  return result.config;
}

const options = (storeUrl: string): ServeOptions => ({
  host: '127.0.0.1',
  port: 0,
  store: { kind: 'postgres', url: storeUrl },
  adminToken: null,
  logLevel: 'silent',
});

const get = async <T>(base: string, path: string): Promise<T> => {
  const reply = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (reply.status !== 200) throw new Error(`${path}: ${String(reply.status)} ${await reply.text()}`);
  return (await reply.json()) as T;
};

/** Polls `probe` every 250 ms until it returns a value, or throws `what` after `ms`. */
const until = async <T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};

interface Detail {
  incident: Incident;
  alerts: Alert[];
  load: IncidentLoad | null;
}

/**
 * The scenarios on real PostgreSQL through `serve` (its PostgreSQL store, its watch of a
 * real database, its rule loop, its API): the metric alerts and the incident's working-or-waiting
 * account, as a team would meet them.
 */
describe('serve: database metric alerts and the work/wait split (real PostgreSQL)', () => {
  let store: TestDatabase;
  let monitored: TestDatabase;
  let admin: pg.Client;
  beforeAll(async () => {
    store = await createTestDatabase('metric_alerts_store');
    monitored = await createTestDatabase('metric_alerts_target');
    admin = await monitored.connect();
    await admin.query('CREATE TABLE stock (id int PRIMARY KEY, n int NOT NULL)');
    await admin.query('INSERT INTO stock VALUES (1, 100)');
    await admin.query('CREATE TABLE latency_probe (id int)');
    await admin.query('INSERT INTO latency_probe VALUES (1)');
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  });
  afterAll(async () => {
    await admin.end();
    await monitored.drop();
    await store.drop();
  });

  it('a lock storm at high CPU yields one incident whose summary separates waiting from working', async () => {
    const declared = config(
      [
        'services:',
        '  - { name: shop }',
        'targets:',
        '  - { name: shop-db, url: "${DB}", service: shop, interval: 200ms }',
        'rules:',
        // Fires after 12 s of blocking: a closed 10 s interval of the storm is kept by then.
        '  blocking: { threshold: 12 }',
        'tokens:',
        '  - { name: ci, secret: "${CI}", role: viewer }',
      ],
      { DB: monitored.url, CI: TOKEN },
    );
    const server = await serveDeps().startServer(options(store.url), declared);
    const sessions: pg.Client[] = [];
    const running: Promise<unknown>[] = [];
    const open = async (): Promise<{ client: pg.Client; pid: number }> => {
      const client = await monitored.connect({ applicationName: 'storm' });
      client.on('error', () => undefined);
      sessions.push(client);
      await client.query("SET statement_timeout = '60s'");
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      return { client, pid: rows[0]?.pid ?? -1 };
    };
    try {
      // The root: holds the row's lock while it burns CPU. Two more burn CPU beside it; eight wait.
      const root = await open();
      await root.client.query('BEGIN');
      await root.client.query('UPDATE stock SET n = n - 1 WHERE id = 1');
      const burn = 'SELECT count(*) FROM generate_series(1, 2000000000)';
      running.push(root.client.query(burn).catch(() => undefined));
      for (let i = 0; i < 2; i += 1) running.push((await open()).client.query(burn).catch(() => undefined));
      for (let i = 0; i < 8; i += 1)
        running.push(
          (await open()).client.query('UPDATE stock SET n = n - 1 WHERE id = 1').catch(() => undefined),
        );

      const detail = await until('the incident to say who waited behind whom', 60_000, async () => {
        const { incidents } = await get<{ incidents: Incident[] }>(server.url, '/api/v1/incidents?state=all');
        const first = incidents[0];
        if (first === undefined) return null;
        const d = await get<Detail>(server.url, `/api/v1/incidents/${first.id}`);
        return d.incident.summary.includes('of active backends waited on locks') ? d : null;
      });

      // One incident for the storm, whatever else fired with it (same service, same incident).
      const { incidents } = await get<{ incidents: Incident[] }>(server.url, '/api/v1/incidents?state=all');
      expect(incidents).toHaveLength(1);
      expect(detail.alerts.map((a) => a.rule)).toContain('blocking');
      expect(new Set(detail.alerts.map((a) => a.incidentId))).toEqual(new Set([detail.incident.id]));

      // Most active backends waited behind the root; the ones working are named as working.
      expect(detail.incident.summary).toMatch(
        new RegExp(
          `\\d+% of active backends waited on locks behind pid ${String(root.pid)}; the slow queries are victims`,
        ),
      );
      const load = detail.load;
      expect(load).not.toBeNull();
      expect(load?.target).toBe('shop-db');
      expect(load?.lockWaiting ?? 0).toBeGreaterThanOrEqual(6);
      expect(load?.onCpu ?? 0).toBeGreaterThanOrEqual(2);
      expect((load?.lockWaiting ?? 0) / (load?.active ?? 1)).toBeGreaterThan(0.5);
      expect(load?.behind[0]?.pid).toBe(root.pid);
      // The CPU figure: serve reads the host of a database on its own host (the test server).
      expect(load?.cpuBusy).toBeGreaterThan(0);
      expect(detail.incident.summary).toMatch(/CPU \d+%; \d+% of active backends waited on locks/);

      // `hindsight incident show` prints the same account.
      let out = '';
      const stdout = new Writable({
        write(chunk: Buffer, _encoding, done) {
          out += chunk.toString();
          done();
        },
      });
      await showIncident(detail.incident.id, { server: server.url, token: TOKEN, json: false }, { stdout });
      expect(out).toMatch(
        new RegExp(
          `\\n {2}load {6}.*of active backends waited on locks behind pid ${String(root.pid)}.*\\(shop-db, `,
        ),
      );
    } finally {
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'storm' AND datname = current_database()",
      );
      await Promise.all(running);
      await Promise.all(sessions.map((c) => c.end().catch(() => undefined)));
      await server.stop();
    }
  }, 120_000);

  it('a statement slower after a deploy fires statement_latency, and the alert names the deploy', async () => {
    const probe = 'SELECT pg_sleep($1) FROM latency_probe';
    // The probe's query id, as pg_stat_statements (and so the agent) keys it.
    await admin.query(probe, [0.001]);
    const { rows } = await admin.query<{ queryid: string; query: string }>(
      "SELECT queryid::text, query FROM pg_stat_statements WHERE query LIKE '%FROM latency_probe%' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    const queryId = rows[0]?.queryid ?? '';
    expect(queryId).not.toBe('');

    // A store of its own: the storm's incident (same service) is not this one.
    const store = await createTestDatabase('metric_alerts_store2');
    // Its past, as the agent would have kept it: 20 minutes at 2 ms a call, 40 calls a minute.
    const res = STATEMENTS_RESOLUTION_MS;
    const started = Date.now();
    const history = await PostgresStore.open({ url: store.url });
    try {
      const firstLive = Math.floor(started / res) * res;
      const past = [];
      for (let at = firstLive - 20 * res; at < firstLive - res; at += res)
        past.push({
          target: 'shop-db',
          at,
          resolutionMs: res,
          queryId,
          query: rows[0]?.query ?? probe,
          calls: 40,
          totalExecMs: 80,
          rows: 40,
        });
      await history.metrics.preparePartitions(res, firstLive - 21 * res, firstLive + 10 * res);
      await history.metrics.saveStatements(past);
    } finally {
      await history.close();
    }

    const declared = config(
      [
        'services:',
        '  - { name: shop }',
        'targets:',
        '  - { name: shop-db, url: "${DB}", service: shop, interval: 250ms }',
        'tokens:',
        '  - { name: ci, secret: "${CI}", role: viewer }',
        '  - { name: deployer, secret: "${DEPLOYER}", role: ingest }',
      ],
      { DB: monitored.url, CI: TOKEN, DEPLOYER: 'deploy-token-0123456789' },
    );
    const server = await serveDeps().startServer(options(store.url), declared);
    const client = await monitored.connect({ applicationName: 'latency' });
    const latency = { stop: false };
    let loop: Promise<void> = Promise.resolve();
    try {
      const deployed = await fetch(`${server.url}/api/v1/deploys`, {
        method: 'POST',
        headers: { authorization: 'Bearer deploy-token-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'shop', version: 'v2', commit: 'abc123' }),
      });
      expect(deployed.status).toBe(201);
      // v2 made the probe slow: 30 ms a call instead of 2, as long as it takes to be noticed.
      loop = (async () => {
        while (!latency.stop) await client.query(probe, [0.03]);
      })();

      const alert = await until('statement_latency to fire', 3.5 * res + 30_000, async () => {
        const { alerts } = await get<{ alerts: Alert[] }>(server.url, '/api/v1/alerts?status=firing');
        return alerts.find((a) => a.rule === 'statement_latency') ?? null;
      });
      expect(alert.fingerprint).toBe(`rule:statement_latency:shop-db:${queryId}`);
      expect(alert.labels).toMatchObject({ queryid: queryId, target: 'shop-db', service: 'shop' });
      expect(alert.summary).toMatch(
        /^`SELECT … FROM latency_probe` on shop-db: mean \d+(\.\d)? ms over 1 min, \d+(\.\d)?× its baseline 2 ms \(\d+ calls\), after deploy v2 \(/,
      );
      const d = await get<Detail>(server.url, `/api/v1/incidents/${alert.incidentId ?? ''}`);
      // Its incident (opened by it, or by another alert of shop — a busy test host's CPU) says so too.
      expect(d.alerts.map((a) => a.id)).toContain(alert.id);
      expect(d.incident.summary).toContain('after deploy v2');
    } finally {
      latency.stop = true;
      await loop.catch(() => undefined);
      await client.end();
      await server.stop();
      await store.drop();
    }
  }, 300_000);
});
