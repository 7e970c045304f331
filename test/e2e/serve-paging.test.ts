import { createServer, type Server } from 'node:http';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/platform/local-postgres.js';
import { runCli } from '../support/cli-process.js';
import { eventually, ServeProcess } from '../support/serve-process.js';

const ADMIN = 'paging-admin-token-0123456789';
const KEY = 'pd-routing-key-paging-0123456789';

interface Hook {
  readonly kind: string;
  readonly recipient: { target: string; user: { name: string } | null } | null;
  readonly incident?: { id: string };
  readonly acknowledgeUrl?: string | null;
  readonly signed: boolean;
}

describe('serve pages through a real webhook', () => {
  let dir: string;
  let serve: ServeProcess;
  let receiver: Server;
  const hooks: Hook[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hindsight-paging-'));
    await chmod(dir, 0o755);
    receiver = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as Omit<Hook, 'signed'>;
        hooks.push({ ...body, signed: typeof req.headers['x-hindsight-signature'] === 'string' });
        res.writeHead(200).end();
      });
    });
    const hookPort = await freePort();
    await new Promise<void>((resolve) => receiver.listen(hookPort, '127.0.0.1', resolve));
    await writeFile(
      join(dir, 'hindsight.config.yaml'),
      `users:
  - { name: alice, contacts: [hook] }
schedules:
  - name: primary
    timeZone: Europe/Berlin
    rotation: { every: day, handoff: "09:00", users: [alice] }
channels:
  - { name: hook, type: webhook, url: "http://127.0.0.1:${hookPort}/hook", secret: "\${HOOK_SECRET}" }
escalationPolicies:
  - name: shop-oncall
    steps:
      - { after: 0m, notify: ["schedule:primary"] }
    ackExpires: 30m
services:
  - name: shop
    grouping: off
    escalationPolicy: shop-oncall
    integrations: [{ type: pagerduty, secret: "${KEY}" }]
`,
    );
    serve = new ServeProcess(
      [
        '--config',
        join(dir, 'hindsight.config.yaml'),
        '--port',
        String(await freePort()),
        '--data-dir',
        join(dir, 'data'),
      ],
      {
        HINDSIGHT_ADMIN_TOKEN: ADMIN,
        HOOK_SECRET: 'hook-secret-0123456789',
      },
    );
    await serve.ready();
  }, 90_000);

  afterAll(async () => {
    await serve.stop();
    receiver.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('pages the on-call user for an incident from /v2/enqueue, tells them of the acknowledgement, escalates by hand, and answers oncall and channel test', async () => {
    const enqueued = await fetch(`${serve.url}/v2/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        routing_key: KEY,
        event_action: 'trigger',
        dedup_key: 'd1',
        payload: { summary: 'Deadlocks on shop-db', source: 'shop-db', severity: 'critical' },
      }),
    });
    expect(enqueued.status).toBe(202);
    const page = await eventually(
      () => Promise.resolve(hooks.find((h) => h.kind === 'triggered')),
      'the first page',
      15_000,
    );
    expect(page).toMatchObject({
      recipient: { target: 'schedule:primary', user: { name: 'alice' } },
      signed: true,
    });
    const id = page.incident!.id;

    // One click on the page's signed link (POST: opening it only shows the button).
    expect(page.acknowledgeUrl).toMatch(
      new RegExp(`^${serve.url}/api/v1/incidents/${id}/acknowledge-link\\?exp=\\d+&sig=`),
    );
    expect((await fetch(page.acknowledgeUrl!)).status).toBe(200);
    expect((await fetch(page.acknowledgeUrl!, { method: 'POST' })).status).toBe(200);
    await eventually(
      () => Promise.resolve(hooks.find((h) => h.kind === 'acknowledged')),
      'the acknowledgement',
      15_000,
    );

    const escalated = await serve.api<{ steps: number }>(`/api/v1/incidents/${id}/escalate`, {
      token: ADMIN,
      body: {},
    });
    expect([escalated.status, escalated.body.steps]).toEqual([200, 1]);
    await eventually(
      () => Promise.resolve(hooks.find((h) => h.kind === 'escalated')),
      'the page asked for by hand',
      15_000,
    );

    const detail = await serve.api<{ timeline: { kind: string; text: string }[] }>(
      `/api/v1/incidents/${id}`,
      { token: ADMIN },
    );
    expect(detail.body.timeline.filter((e) => e.kind === 'escalated').map((e) => e.text)).toEqual([
      'step 1 of shop-oncall — schedule:primary: paging alice via hook',
      'shop-oncall has no more steps and nobody has acknowledged',
      'escalated by hand: step 1 of shop-oncall — schedule:primary: paging alice via hook',
      'shop-oncall has no more steps and nobody has acknowledged',
    ]);
    await eventually(async () => {
      const again = await serve.api<{ timeline: { kind: string }[] }>(`/api/v1/incidents/${id}`, {
        token: ADMIN,
      });
      return again.body.timeline.filter((e) => e.kind === 'notification_sent').length === 3
        ? true
        : undefined;
    }, 'three sends on the timeline');
    expect(hooks.filter((h) => h.kind !== 'test')).toHaveLength(3);

    const oncall = await runCli(['oncall', '--server', serve.url, '--token', ADMIN, '--json']);
    expect(oncall.code).toBe(0);
    expect(JSON.parse(oncall.stdout)).toMatchObject({
      schedules: [{ schedule: 'primary', user: 'alice', source: 'rotation' }],
    });

    const test = await runCli(['channel', 'test', 'hook', '--server', serve.url, '--token', ADMIN]);
    expect([test.code, test.stdout.trim()]).toEqual([
      0,
      expect.stringMatching(/^sent a test message through hook \(webhook to 127\.0\.0\.1:\d+/) as unknown,
    ]);
    expect(hooks.at(-1)?.kind).toBe('test');

    const metrics = await serve.api<string>('/metrics', { token: ADMIN });
    // Nothing more was sent meanwhile: the acknowledgement is not announced twice.
    expect(hooks.filter((h) => h.kind !== 'test').map((h) => h.kind)).toEqual([
      'triggered',
      'acknowledged',
      'escalated',
    ]);
    expect(metrics.body).toMatch(/hindsight_notifications_total\{channel="hook",outcome="sent"\} 3/);
    expect(metrics.body).toMatch(/hindsight_incident_first_page_seconds_count 1/);
  }, 90_000);
});
