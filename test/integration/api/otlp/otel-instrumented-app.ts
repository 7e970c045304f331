/**
 * A small node:http app instrumented the way an OpenTelemetry user does it (NodeTracerProvider, the
 * http and pg instrumentations, an OTLP/HTTP exporter), knowing nothing of Hindsight: the exporter is
 * pointed at `serve` with OTEL_EXPORTER_OTLP_ENDPOINT and carries the token in its `headers` option.
 * Run as a child process (`node --import tsx`) by otlp-real-sdk.test.ts, with env:
 *   DATABASE_URL, OTEL_EXPORTER_OTLP_ENDPOINT (and OTEL_EXPORTER_OTLP_COMPRESSION), HINDSIGHT_TOKEN,
 *   OTLP_PROTOCOL = proto | json.
 * `POST /checkout` deadlocks with a "restock job" session on the real PostgreSQL and answers 500;
 * `POST /jobs/restock` runs a job statement outside any request that fails with 23505.
 * It prints `listening <port>` once ready and exports everything on SIGTERM.
 */
import type * as NodeHttp from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type Pg from 'pg';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
};

const headers = { Authorization: `Bearer ${env('HINDSIGHT_TOKEN')}` };
const exporter =
  env('OTLP_PROTOCOL') === 'json' ? new JsonExporter({ headers }) : new ProtoExporter({ headers });
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'shop', 'service.version': 'v2' }),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
provider.register();

// The one hook the README asks for (copied from there): each query's call site as code.* attributes.
registerInstrumentations({
  instrumentations: [
    new HttpInstrumentation(),
    new PgInstrumentation({
      requestHook: (span) => {
        // The stack: this hook, the instrumentation (node_modules), then the line that called query().
        for (const frame of (new Error().stack ?? '').split('\n').slice(2)) {
          const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?$/.exec(frame.trim());
          if (!m?.[1] || m[1].includes('node_modules') || m[1].startsWith('node:')) continue;
          const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
          span.setAttributes({
            'code.file.path': path.relative(process.cwd(), file),
            'code.line.number': Number(m[2]),
          });
          break;
        }
      },
    }),
  ],
});

// Loaded after the instrumentations registered, through require, so that they patch these modules.
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof NodeHttp;
const pg = require('pg') as typeof Pg;

const databaseUrl = env('DATABASE_URL');
// The request's session detects the deadlock first (and is its victim): a short deadlock_timeout.
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, options: '-c deadlock_timeout=100ms' });
const restock = new pg.Client({ connectionString: databaseUrl, options: '-c deadlock_timeout=10s' });
await restock.connect();

/** The restock job's side of the deadlock, in its own trace (no request around it). */
const restockLocks = (first: number, then: number): Promise<unknown> =>
  context.with(ROOT_CONTEXT, async () => {
    await restock.query('BEGIN');
    await restock.query('UPDATE accounts SET balance = balance + 10 WHERE id = $1', [first]);
    return restock
      .query('UPDATE accounts SET balance = balance + 10 WHERE id = $1', [then])
      .finally(() => restock.query('ROLLBACK'));
  });

const checkout = async (): Promise<number> => {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [1]);
    const job = restockLocks(2, 1);
    // Give the job time to lock row 2 and queue behind our row 1.
    await new Promise((resolve) => setTimeout(resolve, 300));
    try {
      await client.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [2]); // deadlock-victim-line
      await client.query('COMMIT');
      return 200;
    } catch (error) {
      await client.query('ROLLBACK');
      if ((error as { code?: string }).code !== '40P01') throw error;
      return 500;
    } finally {
      await job;
    }
  } finally {
    client.release();
  }
};

const server = http.createServer((req, res) => {
  const span = trace.getActiveSpan();
  const url = req.url ?? '/';
  if (req.method === 'POST' && url === '/checkout') {
    span?.setAttributes({ 'http.route': '/checkout', 'enduser.id': req.headers['x-user'] ?? 'anonymous' });
    checkout().then(
      (status) => res.writeHead(status).end(status === 200 ? 'ok' : 'deadlock'),
      (error: unknown) => res.writeHead(502).end(String(error)),
    );
    return;
  }
  if (req.method === 'POST' && url === '/jobs/restock') {
    span?.setAttribute('http.route', '/jobs/restock');
    // A job outside any request: its own trace, and a sqlcommenter tag naming it.
    context
      .with(ROOT_CONTEXT, () =>
        restock.query("/*job='restock'*/ INSERT INTO accounts (id, balance) VALUES (1, 0)"),
      )
      .then(
        () => res.writeHead(200).end('inserted?'),
        (error: unknown) => res.writeHead(202).end((error as { code?: string }).code ?? 'failed'),
      );
    return;
  }
  res.writeHead(404).end();
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});

process.on('SIGTERM', () => {
  server.close();
  void provider
    .forceFlush()
    .then(() => provider.shutdown())
    .then(() => Promise.all([pool.end(), restock.end()]))
    .then(() => process.exit(0));
});
