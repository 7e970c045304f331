import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './alertmanager-process.js';

/** Debian's `prometheus` (installed by .ci/run, with promtool). */
export const PROMETHEUS_BIN =
  ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p)) ?? null;

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: readonly [number, string];
}

/** A real Prometheus on 127.0.0.1 scraping one exporter every second, with a throwaway TSDB. */
export class PrometheusProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly #dir: string;
  log = '';

  private constructor(child: ChildProcess, url: string, dir: string) {
    this.child = child;
    this.url = url;
    this.#dir = dir;
    child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
  }

  /**
   * `target` is host:port of the exporter (its path is /metrics). `bearerToken`: scraped with it
   * (serve's /metrics wants a viewer token), and by a second job without it (`hindsight_no_token`),
   * to see that the token is what lets the scrape in.
   */
  static async start(target: string, options: { bearerToken?: string } = {}): Promise<PrometheusProcess> {
    if (!PROMETHEUS_BIN) throw new Error('prometheus is not installed: apt-get install prometheus');
    const dir = await mkdtemp(join(tmpdir(), 'hindsight-prom-'));
    const port = await freePort();
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: hindsight',
        ...(options.bearerToken === undefined
          ? []
          : [
              '    authorization:',
              '      type: Bearer',
              `      credentials: ${JSON.stringify(options.bearerToken)}`,
            ]),
        '    static_configs:',
        `      - targets: [${JSON.stringify(target)}]`,
        ...(options.bearerToken === undefined
          ? []
          : [
              '  - job_name: hindsight_no_token',
              '    static_configs:',
              `      - targets: [${JSON.stringify(target)}]`,
            ]),
        '',
      ].join('\n'),
    );
    const child = spawn(PROMETHEUS_BIN, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    const prom = new PrometheusProcess(child, `http://127.0.0.1:${port}`, dir);
    for (let i = 0; i < 300; i++) {
      const ok = await fetch(`${prom.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return prom;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await prom.stop();
    throw new Error(`prometheus did not become ready:\n${prom.log}`);
  }

  /** An instant query through the HTTP API (`/api/v1/query`). */
  async query(promql: string): Promise<PromSample[]> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { result: PromSample[] };
    };
    if (body.status !== 'success')
      throw new Error(`prometheus refused ${promql}: ${body.error ?? response.status}`);
    return body.data?.result ?? [];
  }

  /** The exporter's health as Prometheus saw it (`/api/v1/targets`): up, and the last scrape error. */
  async targetHealth(): Promise<{ health: string; lastError: string; scrapePool: string }[]> {
    const response = await fetch(`${this.url}/api/v1/targets`);
    const body = (await response.json()) as {
      data: { activeTargets: { health: string; lastError: string; scrapePool: string }[] };
    };
    return body.data.activeTargets;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        this.child.once('exit', () => {
          resolve();
        });
        this.child.kill('SIGTERM');
      });
    }
    await rm(this.#dir, { recursive: true, force: true });
  }
}
