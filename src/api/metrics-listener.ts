import { createServer, type Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { userError } from '../core/errors.js';
import { registerTargetMetrics, type TargetMetricsSource } from './target-exporter.js';

export interface MetricsListener {
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The exporter of `hindsight watch --metrics-port` and `hindsight agent --metrics-port`, for teams
 * that want only an exporter: a small node:http listener answering `GET /metrics` (the targets'
 * metrics and the process's own), 404 otherwise. No token: it binds 127.0.0.1 unless told
 * otherwise, as exporters do; it serves figures, never query text.
 */
export async function startMetricsListener(options: {
  readonly host: string;
  readonly port: number;
  readonly source: TargetMetricsSource;
}): Promise<MetricsListener> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters: `promtool check metrics` refuses them (as in server-metrics.ts).
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  registerTargetMetrics(registry, options.source);

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('only GET /metrics here\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res
          .writeHead(200, { 'content-type': registry.contentType })
          .end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        res
          .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
          .end(`could not render the metrics: ${String(error)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? userError(
              'SERVE_PORT_IN_USE',
              `--metrics-port ${options.port} on ${options.host} is already in use; pick another`,
            )
          : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
            ? userError(
                'SERVE_HOST_UNAVAILABLE',
                `cannot listen on ${options.host}: no such address here; pass --metrics-host 127.0.0.1 or 0.0.0.0`,
              )
            : error,
      );
    });
    server.listen(options.port, options.host, () => {
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
