import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CliProcess, runCli } from '../support/cli-process.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';

const isListening = (line: unknown): line is string =>
  typeof line === 'string' && line.startsWith('listening on http://');

async function until<T>(probe: () => Promise<T | null | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface IncidentJson {
  id: string;
  state: string;
  service: string;
  summary: string;
}

describe('hindsight serve, agent and the incident commands (processes, embedded store, a real PostgreSQL)', () => {
  let monitored: TestDatabase;
  let agentTarget: TestDatabase;
  let dir: string;
  let serve: CliProcess;
  let url = '';
  let token = '';
  const env = (): NodeJS.ProcessEnv => ({ HINDSIGHT_SERVER: url, HINDSIGHT_TOKEN: token });

  beforeAll(async () => {
    monitored = await createTestDatabase('serve');
    agentTarget = await createTestDatabase('agent');
    await withClient(monitored.url, (c) =>
      c.query(
        'CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g;',
      ),
    );
    dir = await mkdtemp(join(tmpdir(), 'hindsight-serve-'));
    await chmod(dir, 0o755); // run as root, the embedded PostgreSQL runs as `postgres` and must reach the data dir
    const logDir = inject('pgLogDirectory');
    const log = logDir ? `\n    log: ${logDir}\n    logFormat: jsonlog` : '';
    await writeFile(
      join(dir, 'hindsight.config.yaml'),
      `targets:\n  - name: shop-db\n    url: \${SHOP_DB_URL}\n    service: shop\n    interval: 250ms${log}\nservices:\n  - name: shop\n    grouping: { window: 10m }\n`,
    );
    serve = new CliProcess(
      [
        'serve',
        '--config',
        join(dir, 'hindsight.config.yaml'),
        '--port',
        '0',
        '--data-dir',
        join(dir, 'data'),
      ],
      {
        SHOP_DB_URL: monitored.url,
        HINDSIGHT_ADMIN_TOKEN: '',
      },
    );
    const line = await serve.waitFor(isListening, 45_000).catch((error: unknown) => {
      throw new Error(`serve did not start: ${String(error)}\nstderr:\n${serve.stderr}`);
    });
    url = line.slice('listening on '.length);
    token = /\n\s+(hs_\S+)\n/.exec(serve.stderr)?.[1] ?? '';
    expect(token).not.toBe('');
  });

  afterAll(async () => {
    await serve.stop();
    await monitored.drop();
    await agentTarget.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('opens one incident for a real deadlock, naming both statements, and the CLI reads and changes it', async () => {
    const a: pg.Client = await monitored.connect({ applicationName: 'checkout' });
    const b: pg.Client = await monitored.connect({ applicationName: 'restock' });
    for (const c of [a, b]) c.on('error', () => undefined);
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('UPDATE accounts SET balance = balance - 10 WHERE id = 1');
      await b.query('UPDATE accounts SET balance = balance - 20 WHERE id = 2');
      await Promise.allSettled([
        a.query('UPDATE accounts SET balance = balance + 10 WHERE id = 2'),
        b.query('UPDATE accounts SET balance = balance + 20 WHERE id = 1'),
      ]);
      await Promise.allSettled([a.query('ROLLBACK'), b.query('ROLLBACK')]);
    } finally {
      await Promise.allSettled([a.end(), b.end()]);
    }

    const incident = await until(
      async () => {
        const listed = await runCli(['incidents', '--json'], { env: env() });
        expect(listed.code, listed.stderr).toBe(0);
        return (JSON.parse(listed.stdout) as { incidents: IncidentJson[] }).incidents[0];
      },
      20_000,
      'an incident for the deadlock',
    );
    expect(incident.service).toBe('shop');
    expect(incident.summary).toMatch(/deadlock/i);

    const table = await runCli(['incidents'], { env: env() });
    expect(table.stdout).toMatch(
      new RegExp(`^ID\\s+STATE\\s+SERVICE\\s+AGE\\s+SUMMARY\\n${incident.id}\\s+triggered\\s+shop\\s+`),
    );

    expect((await runCli(['incident', 'ack', incident.id], { env: env() })).stdout).toBe(
      `${incident.id} is now acknowledged\n`,
    );
    const note = await runCli(
      ['incident', 'note', incident.id, 'tuned slow queries: no effect', '--dead-end'],
      { env: env() },
    );
    expect(note.code).toBe(0);
    const shown = await runCli(['incident', 'show', incident.id], { env: env() });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('state     acknowledged');
    expect(shown.stdout).toMatch(/note\s+tuned slow queries: no effect \[dead end\]/);
    expect(shown.stdout).toMatch(/UPDATE accounts SET balance = balance [+-] \$\d+ WHERE id = \$\d+/);

    const again = await runCli(['incident', 'ack', incident.id], { env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    const missing = await runCli(['incident', 'show', 'inc_nope'], { env: env() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^hindsight: .*\[INCIDENT_NOT_FOUND\]\n$/);
  });

  it('takes findings and target health from an agent on another host, and an agent with a bad token stops with exit 2', async () => {
    const created = await fetch(`${url}/api/v1/targets/edge-db`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: agentTarget.url, service: 'shop' }),
    });
    expect(created.status, await created.text()).toBeLessThan(300);
    await writeFile(
      join(dir, 'agent.yaml'),
      `targets:\n  - name: edge-db\n    url: \${EDGE_DB_URL}\n    service: shop\n    interval: 250ms${inject('pgLogDirectory') ? `\n    log: ${inject('pgLogDirectory')}\n    logFormat: jsonlog` : ''}\n`,
    );

    const refused = await runCli(
      ['agent', '--config', join(dir, 'agent.yaml'), '--token', 'not-a-token', '--name', 'edge'],
      {
        env: { HINDSIGHT_SERVER: url, EDGE_DB_URL: agentTarget.url },
        timeoutMs: 20_000,
      },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refused the agent's token \(401/);

    const agent = new CliProcess(['agent', '--config', join(dir, 'agent.yaml'), '--name', 'edge'], {
      ...env(),
      EDGE_DB_URL: agentTarget.url,
    });
    try {
      const health = await until(
        async () => {
          const res = await fetch(`${url}/api/v1/targets`, { headers: { authorization: `Bearer ${token}` } });
          const body = (await res.json()) as {
            targets: { name: string; health: { agent: string; reachable: boolean } | null }[];
          };
          return body.targets.find((t) => t.name === 'edge-db' && t.health?.agent === 'edge')?.health;
        },
        20_000,
        "the agent's health report",
      );
      expect(health.reachable).toBe(true);

      // A deadlock on the agent's database reaches the server as findings and raises an alert for edge-db.
      await withClient(agentTarget.url, (c) =>
        c.query('CREATE TABLE stock (id int PRIMARY KEY, n int); INSERT INTO stock VALUES (1, 0), (2, 0);'),
      );
      const a = await agentTarget.connect();
      const b = await agentTarget.connect();
      for (const c of [a, b]) c.on('error', () => undefined);
      try {
        await a.query('BEGIN');
        await b.query('BEGIN');
        await a.query('UPDATE stock SET n = n + 1 WHERE id = 1');
        await b.query('UPDATE stock SET n = n + 1 WHERE id = 2');
        await Promise.allSettled([
          a.query('UPDATE stock SET n = n + 1 WHERE id = 2'),
          b.query('UPDATE stock SET n = n + 1 WHERE id = 1'),
        ]);
        await Promise.allSettled([a.query('ROLLBACK'), b.query('ROLLBACK')]);
      } finally {
        await Promise.allSettled([a.end(), b.end()]);
      }
      const alert = await until(
        async () => {
          const res = await fetch(`${url}/api/v1/alerts?status=firing`, {
            headers: { authorization: `Bearer ${token}` },
          });
          const body = (await res.json()) as { alerts: { target: string | null; rule: string | null }[] };
          return body.alerts.find((x) => x.target === 'edge-db' && x.rule === 'deadlocks');
        },
        20_000,
        "an alert from the agent's deadlock",
      );
      expect(alert).toBeDefined();
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });

  it('refuses a port in use and a store that is a monitored database, each in one line with exit 2', async () => {
    const port = new URL(url).port;
    const busy = await runCli(['serve', '--port', port, '--data-dir', join(dir, 'other')], {
      timeoutMs: 30_000,
    });
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/port \d+ on 127\.0\.0\.1 is already in use.*--port/);

    const same = await runCli(
      ['serve', '--config', join(dir, 'hindsight.config.yaml'), '--port', '0', '--store', monitored.url],
      {
        env: { SHOP_DB_URL: monitored.url },
        timeoutMs: 30_000,
      },
    );
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/is the database target "shop-db" monitors.*\[STORE_IS_MONITORED\]/);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const code = await new Promise<number | null>((resolve) => {
      serve.child.once('close', resolve);
      serve.child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(serve.stderr).toContain('hindsight: stopped');
  });
});
