import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startOtelApp } from '../support/otel-app-process.js';
import { eventually, ServeProcess } from '../support/serve-process.js';

/**
 * `hindsight serve` as a process taking OTLP from an app on the real OpenTelemetry Node SDK: the
 * exporter pointed at serve's base URL (it adds /v1/traces) with a token of role ingest from the
 * configuration file; what arrives is stored (hindsight_app_events_total{outcome="accepted"}).
 */

const ADMIN = 'admin-token-otlp-0123456789';
const INGEST = 'ingest-token-otlp-0123456789';

describe('hindsight serve takes OTLP traces from an OpenTelemetry-instrumented app', () => {
  let app: TestDatabase;
  let store: TestDatabase;
  let dir: string;
  let serve: ServeProcess;

  beforeAll(async () => {
    app = await createTestDatabase('otlpapp');
    store = await createTestDatabase('otlpstore');
    const c = await app.connect();
    await c.query(
      'CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); INSERT INTO accounts VALUES (1, 100), (2, 100)',
    );
    await c.end();
    dir = await mkdtemp(join(tmpdir(), 'hindsight-otlp-'));
    await chmod(dir, 0o755);
    await writeFile(
      join(dir, 'hindsight.config.yaml'),
      'tokens:\n  - { name: shop-otel, secret: "${OTEL_TOKEN}", role: ingest }\n',
    );
    serve = new ServeProcess(
      ['--config', join(dir, 'hindsight.config.yaml'), '--port', '0', '--store', store.url],
      {
        HINDSIGHT_ADMIN_TOKEN: ADMIN,
        OTEL_TOKEN: INGEST,
      },
    );
    await serve.ready();
  }, 90_000);

  afterAll(async () => {
    await serve.stop();
    await rm(dir, { recursive: true, force: true });
    await app.drop();
    await store.drop();
  });

  const accepted = async (): Promise<number | undefined> => {
    const metrics = await serve.api<string>('/metrics', { token: ADMIN });
    const m = /^hindsight_app_events_total\{outcome="accepted"\} (\d+)$/m.exec(metrics.body);
    return m === null ? undefined : Number(m[1]);
  };

  it('stores the deadlocked request and the failed job statement the protobuf exporter sends', async () => {
    expect(await accepted()).toBe(0);
    const otel = await startOtelApp({
      DATABASE_URL: app.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: serve.url,
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      HINDSIGHT_TOKEN: INGEST,
      OTLP_PROTOCOL: 'proto',
    });
    expect(
      (await fetch(`${otel.url}/checkout`, { method: 'POST', headers: { 'x-user': 'user-17' } })).status,
    ).toBe(500);
    expect(await (await fetch(`${otel.url}/jobs/restock`, { method: 'POST' })).text()).toBe('23505');
    expect(await otel.stop(), otel.stderr()).toBe(0);
    // Two requests and one query failure.
    expect(
      await eventually(
        async () => ((await accepted()) === 3 ? 3 : undefined),
        'three accepted events',
        10_000,
      ),
    ).toBe(3);
  });

  it('refuses an export without a token (401), as the exporter would log it', async () => {
    const reply = await fetch(`${serve.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array(0),
    });
    expect(reply.status).toBe(401);
  });
});
