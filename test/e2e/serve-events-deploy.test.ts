import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/platform/local-postgres.js';
import { runCli } from '../support/cli-process.js';
import { eventually, ServeProcess } from '../support/serve-process.js';

const ADMIN = 'events-admin-token-0123456789';
const KEY = 'pd-routing-key-events-0123456789';

/** The embedded store's own server, as an operator would reach it (ADR 5: port in postmaster.pid, password file). */
async function storeRows(dataDir: string, query: string): Promise<Record<string, unknown>[]> {
  const port = (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[3]?.trim();
  const password = (await readFile(join(dataDir, 'postgres-password'), 'utf8')).trim();
  const client = new pg.Client({
    host: '127.0.0.1',
    port: Number(port),
    user: 'postgres',
    password,
    database: 'hindsight',
  });
  await client.connect();
  try {
    return (await client.query(query)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

describe('serve takes app events and deploys (process, embedded store)', () => {
  let dir: string;
  let port: number;
  let serve: ServeProcess;
  const start = async (): Promise<ServeProcess> => {
    const s = new ServeProcess(
      [
        '--config',
        join(dir, 'hindsight.config.yaml'),
        '--port',
        String(port),
        '--data-dir',
        join(dir, 'data'),
      ],
      {
        HINDSIGHT_ADMIN_TOKEN: ADMIN,
      },
    );
    await s.ready();
    return s;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hindsight-events-'));
    await chmod(dir, 0o755);
    port = await freePort();
    await writeFile(
      join(dir, 'hindsight.config.yaml'),
      `services:\n  - name: shop\n    grouping: off\n    integrations: [{ type: pagerduty, secret: "${KEY}" }]\n`,
    );
    serve = await start();
  }, 90_000);

  afterAll(async () => {
    await serve.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores a gzipped batch before its 202 (kill -9 right after loses nothing), and `hindsight deploy` marks the open incident', async () => {
    const created = await serve.api<{ secret: string }>('/api/v1/tokens', {
      token: ADMIN,
      body: { name: 'shop-ci', role: 'ingest' },
    });
    expect(created.status).toBe(201);
    const ingest = created.body.secret;

    const at = Date.now();
    const events = Array.from({ length: 300 }, (_, i) => ({
      kind: 'request',
      at: at - i,
      method: 'POST',
      route: '/checkout',
      status: i % 3 === 0 ? 500 : 200,
      durationMs: 10,
      user: `user-${i % 50}`,
      errorClass: i % 3 === 0 ? 'DatabaseError' : null,
      release: 'v2',
      sqlFailures:
        i % 3 === 0
          ? [
              {
                sqlstate: '40P01',
                query: 'UPDATE inventory SET stock = stock - $1',
                callSite: 'shop/checkout.ts:88',
              },
            ]
          : [],
    }));
    const reply = await fetch(`${serve.url}/api/v1/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ingest}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body: gzipSync(
        JSON.stringify({ service: 'shop', sdk: 'test/1', events: [...events, { kind: 'request' }] }),
      ),
    });
    expect(reply.status).toBe(202);
    expect(await reply.json()).toMatchObject({ accepted: 300, rejected: [{ index: 300 }] });
    await serve.stop('SIGKILL');
    // serve is gone; its PostgreSQL (an orphan now) answers with what was committed.
    const [row] = await storeRows(
      join(dir, 'data'),
      "SELECT sum(requests)::int AS requests, sum(failures)::int AS failures FROM app_rollups WHERE service = 'shop'",
    );
    expect(row).toEqual({ requests: 300, failures: 100 });
    serve = await start();

    const opened = await fetch(`${serve.url}/v2/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        routing_key: KEY,
        event_action: 'trigger',
        dedup_key: 'd1',
        payload: { summary: 'Checkout failing', source: 'shop', severity: 'critical' },
      }),
    });
    expect(opened.status).toBe(202);
    const env = {
      HINDSIGHT_SERVER: serve.url,
      HINDSIGHT_TOKEN: ingest,
      GITHUB_SHA: '',
      CI_COMMIT_SHA: '',
      GIT_COMMIT: '',
    };
    const missing = await runCli(['deploy', 'v2'], { env: { ...env, HINDSIGHT_SERVICE: '' } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('pass --service NAME or set HINDSIGHT_SERVICE');
    const deployed = await runCli(['deploy', 'v2', '--service', 'shop', '--commit', '0123456789abcdef0123'], {
      env,
    });
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toMatch(/^deploy v2 \(0123456789ab\) of shop recorded at \S+Z \(id \S+\)\n$/);

    const listed = await serve.api<{ deploys: { version: string; commit: string; actor: string }[] }>(
      '/api/v1/deploys?service=shop',
      { token: ADMIN },
    );
    expect(listed.body.deploys).toMatchObject([
      { version: 'v2', commit: '0123456789abcdef0123', actor: 'shop-ci' },
    ]);
    const incidents = await serve.api<{ incidents: { id: string }[] }>('/api/v1/incidents', { token: ADMIN });
    const id = incidents.body.incidents[0]?.id ?? '';
    const timeline = await eventually(async () => {
      const detail = await serve.api<{ timeline: { kind: string; text: string }[] }>(
        `/api/v1/incidents/${id}`,
        { token: ADMIN },
      );
      return detail.body.timeline.find((e) => e.kind === 'deploy');
    }, 'the deploy on the incident timeline');
    expect(timeline.text).toBe('deploy v2 (0123456789ab) of shop');
  });
});
