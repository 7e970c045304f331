import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerProcess } from '../support/alertmanager-process.js';
import { eventually, ServeProcess } from '../support/serve-process.js';

const run = promisify(execFile);

interface IncidentJson {
  readonly id: string;
  readonly state: string;
  readonly service: string;
  readonly title: string;
  readonly summary: string;
}
interface DetailJson {
  readonly incident: IncidentJson;
  readonly alerts: readonly {
    readonly source: string;
    readonly status: string;
    readonly fingerprint: string;
  }[];
  readonly timeline: readonly { readonly kind: string; readonly actor: string }[];
}

/**
 * The real senders: Debian's Alertmanager posts its webhook (version 4) to `serve` with the
 * integration's secret as a bearer token; promtool reads `/metrics` as Prometheus would.
 */
describe('serve with a real Alertmanager and promtool', () => {
  const token = `hs_e2e_${Math.random().toString(36).slice(2)}`;
  const secret = 'am-secret-for-e2e';
  let dir: string;
  let serve: ServeProcess;
  let am: AlertmanagerProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hindsight-am-e2e-'));
    await chmod(dir, 0o755); // as root, the embedded PostgreSQL runs as `postgres`, which must reach its data dir
    await writeFile(
      join(dir, 'hindsight.config.yaml'),
      [
        'services:',
        '  - name: shop',
        '    integrations:',
        '      - { type: alertmanager, secret: "${AM_SECRET}" }',
        '',
      ].join('\n'),
    );
    serve = new ServeProcess(
      ['--config', join(dir, 'hindsight.config.yaml'), '--port', '0', '--data-dir', join(dir, 'data')],
      {
        AM_SECRET: secret,
        HINDSIGHT_ADMIN_TOKEN: token,
      },
    );
    const url = await serve.ready();
    am = await AlertmanagerProcess.start(`${url}/api/v1/integrations/alertmanager`, secret);
  });

  afterAll(async () => {
    await am.stop();
    await serve.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a firing alert opens an incident, and its resolution resolves it', async () => {
    const labels = { alertname: 'PostgresDeadlocks', severity: 'critical', instance: 'shop-db:9187' };
    await am.post([
      { labels, annotations: { summary: 'Deadlocks on shop-db' }, startsAt: new Date().toISOString() },
    ]);

    const opened = await eventually(
      async () => {
        const { body } = await serve.api<{ incidents: IncidentJson[] }>('/api/v1/incidents?state=open', {
          token,
        });
        return body.incidents.find((i) => i.service === 'shop');
      },
      'an incident opened by the Alertmanager webhook',
      30_000,
      200,
    );
    expect(opened.state).toBe('triggered');
    expect(`${opened.title} ${opened.summary}`).toContain('Deadlocks on shop-db');

    await am.post([
      {
        labels,
        annotations: { summary: 'Deadlocks on shop-db' },
        endsAt: new Date(Date.now() - 1000).toISOString(),
      },
    ]);
    const resolved = await eventually(
      async () => {
        const { body } = await serve.api<DetailJson>(`/api/v1/incidents/${opened.id}`, { token });
        return body.incident.state === 'resolved' ? body : undefined;
      },
      'the incident resolved by the resolved notification',
      30_000,
      200,
    );
    expect(resolved.alerts).toHaveLength(1);
    expect(resolved.alerts[0]).toMatchObject({ source: 'alertmanager', status: 'resolved' });
    expect(resolved.timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(['opened', 'state_changed']));

    // One incident, however often Alertmanager repeated itself.
    const { body: all } = await serve.api<{ incidents: IncidentJson[] }>('/api/v1/incidents?state=all', {
      token,
    });
    expect(all.incidents.filter((i) => i.service === 'shop')).toHaveLength(1);
  });

  it('Alertmanager with a wrong secret is refused and opens nothing', async () => {
    const wrong = await AlertmanagerProcess.start(
      `${serve.url}/api/v1/integrations/alertmanager`,
      'not-the-secret',
    );
    try {
      await wrong.post([
        { labels: { alertname: 'Intruder', severity: 'critical' }, startsAt: new Date().toISOString() },
      ]);
      // Alertmanager logs the 401 it got back; wait for it to have tried.
      await eventually(
        () => Promise.resolve(/401|Unauthorized/i.test(wrong.log) ? true : undefined),
        'alertmanager to report the refusal',
        30_000,
        200,
      );
    } finally {
      await wrong.stop();
    }
    const { body } = await serve.api<{ incidents: IncidentJson[] }>('/api/v1/incidents?state=all', { token });
    expect(body.incidents.map((i) => i.title).join(' ')).not.toContain('Intruder');
  });

  it('promtool accepts /metrics, which counts the inbound alerts', async () => {
    const response = await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/alertmanager/);
    const file = join(dir, 'metrics.txt');
    await writeFile(file, text);
    const { stdout, stderr } = await run('sh', ['-c', `promtool check metrics < ${file}`]).catch(
      (error: unknown) => {
        const { stdout: out = '', stderr: err = '' } = error as { stdout?: string; stderr?: string };
        throw new Error(`promtool rejected /metrics:\n${out}${err}`);
      },
    );
    expect(`${stdout}${stderr}`).not.toMatch(/error/i);
  });
});
