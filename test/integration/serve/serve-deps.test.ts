import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, describeProblem } from '../../../src/config/config-file.js';
import type { HindsightConfig } from '../../../src/config/config-schema.js';
import type { ServeOptions } from '../../../src/config/server-options.js';
import { HindsightError } from '../../../src/core/errors.js';
import { serveDeps } from '../../../src/serve-deps.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

function config(text: string, env: Record<string, string>): HindsightConfig {
  const result = parseConfig(text, { env });
  if (!result.ok) throw new Error(result.problems.map(describeProblem).join('\n'));
  return result.config;
}

describe('serve, in process, on a PostgreSQL store', () => {
  let store: TestDatabase;
  let monitored: TestDatabase;
  const options = (): ServeOptions => ({
    host: '127.0.0.1',
    port: 0,
    store: { kind: 'postgres', url: store.url },
    adminToken: null,
    logLevel: 'silent',
  });

  beforeAll(async () => {
    store = await createTestDatabase('serve_store');
    monitored = await createTestDatabase('serve_target');
  });
  afterAll(async () => {
    await store.drop();
    await monitored.drop();
  });

  it('applies the configuration, prints a generated admin token only on the first start, and serves the API', async () => {
    const declared = config(
      [
        'targets:',
        '  - { name: shop-db, url: "${DB}", service: shop, interval: 250ms }',
        'services:',
        '  - name: shop',
        '    grouping: off',
        '    integrations: [{ type: alertmanager, secret: "${AM}" }]',
        'tokens:',
        '  - { name: ci, secret: "${CI}", role: viewer }',
      ].join('\n'),
      { DB: monitored.url, AM: 'am-secret', CI: 'ci-token-0123456789' },
    );
    const first = await serveDeps().startServer(options(), declared);
    try {
      expect(first.adminSecret).toMatch(/^hs_/);
      const get = (path: string, token: string) =>
        fetch(`${first.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const services = (await (await get('/api/v1/services', 'ci-token-0123456789')).json()) as {
        services: { name: string; grouping: unknown; integrations: unknown[] }[];
      };
      expect(services.services).toEqual([
        expect.objectContaining({
          name: 'shop',
          grouping: { kind: 'off' },
          integrations: [{ type: 'alertmanager' }],
        }),
      ]);
      const targets = (await (await get('/api/v1/targets', first.adminSecret!)).json()) as {
        targets: { name: string; redactedUrl: string; health: { reachable: boolean } | null }[];
      };
      expect(targets.targets.map((t) => t.name)).toEqual(['shop-db']);
      expect(targets.targets[0]!.redactedUrl).toContain('***');
      // The server's own watch reports the target's health.
      for (let i = 0; i < 50; i++) {
        const body = (await (await get('/api/v1/targets', first.adminSecret!)).json()) as typeof targets;
        if (body.targets[0]?.health?.reachable === true) break;
        await new Promise((r) => setTimeout(r, 100));
        if (i === 49) throw new Error('no health reported by the watch');
      }
      expect((await get('/api/v1/incidents', 'wrong')).status).toBe(401);
    } finally {
      await first.stop();
    }
    const second = await serveDeps().startServer(
      { ...options(), adminToken: 'chosen-admin-token-123' },
      declared,
    );
    try {
      expect(second.adminSecret).toBeNull();
      const res = await fetch(`${second.url}/api/v1/tokens`, {
        headers: { authorization: 'Bearer chosen-admin-token-123' },
      });
      expect(res.status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it('finishes a request in flight when it stops, then refuses new connections', async () => {
    const server = await serveDeps().startServer(
      { ...options(), adminToken: 'chosen-admin-token-123' },
      config('{}', {}),
    );
    const { hostname, port } = new URL(server.url);
    // A push whose body is still arriving when the server is told to stop.
    const reply = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          hostname,
          port,
          method: 'POST',
          path: '/api/v1/ingest/findings',
          headers: { authorization: 'Bearer chosen-admin-token-123', 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"agent":"edge","findings":[');
      setTimeout(() => req.end('],"health":[]}'), 300);
    });
    await new Promise((r) => setTimeout(r, 100));
    const stopped = server.stop();
    expect(await reply).toBe(202);
    await stopped;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('refuses to keep its store in a database it monitors, and a port in use, as user errors', async () => {
    const same = config('targets:\n  - { name: t, url: "${DB}" }\n', {
      DB: store.url.replace('postgres://', 'postgresql://'),
    });
    const refused = await serveDeps()
      .startServer(options(), same)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(HindsightError);
    expect((refused as HindsightError).code).toBe('STORE_IS_MONITORED');

    const running = await serveDeps().startServer(
      { ...options(), adminToken: 'chosen-admin-token-123' },
      config('{}', {}),
    );
    try {
      const port = Number(new URL(running.url).port);
      const busy = await serveDeps()
        .startServer({ ...options(), port }, config('{}', {}))
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect((busy as HindsightError).kind).toBe('user');
      expect((busy as HindsightError).message).toBe(
        `port ${port} on 127.0.0.1 is already in use (another hindsight serve?); pick another with --port or HINDSIGHT_PORT`,
      );
    } finally {
      await running.stop();
    }
  });
});
