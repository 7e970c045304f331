import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's `prometheus-alertmanager` (installed by .ci/run when missing). */
export const ALERTMANAGER_BIN =
  ['/usr/bin/prometheus-alertmanager', '/usr/bin/alertmanager'].find((p) => existsSync(p)) ?? null;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/**
 * A real Alertmanager on 127.0.0.1 whose only receiver is a webhook (version 4 payloads) at
 * `webhookUrl`, authenticated the way Alertmanager does it (`http_config.authorization`), grouping
 * and repeating fast enough for a test.
 */
export class AlertmanagerProcess {
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

  static async start(webhookUrl: string, bearer: string): Promise<AlertmanagerProcess> {
    if (!ALERTMANAGER_BIN)
      throw new Error('alertmanager is not installed: apt-get install prometheus-alertmanager');
    const dir = await mkdtemp(join(tmpdir(), 'hindsight-am-'));
    const port = await freePort();
    await writeFile(
      join(dir, 'alertmanager.yml'),
      [
        'route:',
        '  receiver: hindsight',
        "  group_by: ['alertname']",
        '  group_wait: 1s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: hindsight',
        '    webhook_configs:',
        `      - url: ${JSON.stringify(webhookUrl)}`,
        '        send_resolved: true',
        '        http_config:',
        '          authorization:',
        `            credentials: ${JSON.stringify(bearer)}`,
        '',
      ].join('\n'),
    );
    const child = spawn(ALERTMANAGER_BIN, [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=debug',
    ]);
    const am = new AlertmanagerProcess(child, `http://127.0.0.1:${port}`, dir);
    for (let i = 0; i < 200; i++) {
      const ok = await fetch(`${am.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return am;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await am.stop();
    throw new Error(`alertmanager did not become ready:\n${am.log}`);
  }

  /** Posts alerts the way Prometheus does (`POST /api/v2/alerts`). */
  async post(
    alerts: readonly {
      labels: Record<string, string>;
      annotations?: Record<string, string>;
      startsAt?: string;
      endsAt?: string;
    }[],
  ): Promise<void> {
    const response = await fetch(`${this.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts),
    });
    if (!response.ok)
      throw new Error(`alertmanager refused the alerts: ${response.status} ${await response.text()}`);
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
