import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inboundReplySchema } from '../../../src/api/integrations/alertmanager-webhook.js';
import {
  pagerdutyAcceptedSchema,
  pagerdutyInvalidSchema,
} from '../../../src/api/integrations/pagerduty-events.js';
import { alertListSchema, incidentDetailSchema } from '../../../src/api/schemas/incident-schemas.js';
import { createApiHarness, errorOf, firingNotification, type ApiHarness } from '../../support/api-harness.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/integrations/${name}`, import.meta.url), 'utf8'));

interface Recorded {
  notifications: { auth: string; path: string; body: unknown }[];
}
const recorded = fixture('alertmanager-0.25-recorded.json') as Recorded;
const pd = fixture('pagerduty-events-v2.json') as Record<string, Record<string, unknown>>;

const replay = (h: ApiHarness, n: Recorded['notifications'][number]) =>
  h.call('POST', n.path, { body: n.body, headers: { authorization: n.auth } });

const incidentOf = async (h: ApiHarness, id: string) =>
  incidentDetailSchema.parse(
    (await h.call('GET', `/api/v1/incidents/${id}`, { token: h.secrets.viewer })).body,
  );

const everything = async (h: ApiHarness) => ({
  alerts: await h.store.alerts.list({ limit: 1000 }),
  incidents: await h.store.incidents.list({ limit: 1000 }),
});

describe('Alertmanager webhook (recorded from Alertmanager 0.25)', () => {
  const [firing, resolved] = recorded.notifications;

  it('opens an incident on firing, deduplicates a repeat by fingerprint, and resolves it on resolved', async () => {
    const h = await createApiHarness();
    const first = await replay(h, firing!);
    expect(first.status).toBe(200);
    const { alerts } = inboundReplySchema.parse(first.body);
    expect(alerts).toHaveLength(1);
    const incidentId = alerts[0]!.incidentId!;
    const opened = await incidentOf(h, incidentId);
    expect(opened.incident).toMatchObject({ service: 'shop', state: 'triggered', severity: 'critical' });
    expect(opened.alerts[0]).toMatchObject({
      fingerprint: '89d481150ed9e283',
      source: 'alertmanager',
      summary: 'Deadlocks on shop-db',
      labels: { alertname: 'PostgresDeadlocks', severity: 'critical' },
      startedAt: Date.parse('2026-11-30T15:38:05.142Z'),
    });

    const again = await replay(h, firing!); // Alertmanager repeats notifications
    expect(inboundReplySchema.parse(again.body).alerts[0]).toMatchObject({
      alertId: alerts[0]!.alertId,
      incidentId,
    });
    expect(await h.store.alerts.list({ limit: 10 })).toHaveLength(1);
    expect(await h.store.incidents.list({ limit: 10 })).toHaveLength(1);

    const done = await replay(h, resolved!);
    expect(done.status).toBe(200);
    const after = await incidentOf(h, incidentId);
    expect(after.alerts[0]!.status).toBe('resolved');
    expect(after.incident.state).toBe('resolved');
    const firingNow = alertListSchema.parse(
      (await h.call('GET', '/api/v1/alerts?status=firing', { token: h.secrets.viewer })).body,
    );
    expect(firingNow.alerts).toEqual([]);
  });

  it('answers 401 to a missing, unknown or other-integration secret and stores nothing', async () => {
    const h = await createApiHarness();
    for (const authorization of [
      undefined,
      'Bearer wrong',
      'Bearer pd-routing-key-0123456789abcdef',
      's3cret',
    ]) {
      const reply = await h.call('POST', '/api/v1/integrations/alertmanager', {
        body: firingNotification('fp'),
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      });
      expect(reply.status, String(authorization)).toBe(401);
      expect(errorOf(reply).code).toBe('UNAUTHENTICATED');
    }
    expect(await everything(h)).toEqual({ alerts: [], incidents: [] });
  });

  it('answers 400 naming the bad field, and a body with one bad alert stores none of the good ones', async () => {
    const h = await createApiHarness();
    const body = firingNotification('fp-good') as { alerts: unknown[] };
    body.alerts.push({ status: 'exploded', labels: { alertname: 'X' } });
    const reply = await h.call('POST', '/api/v1/integrations/alertmanager', { token: 's3cret', body });
    expect(reply.status).toBe(400);
    expect(errorOf(reply).message).toMatch(/^body\.alerts\[1\]\.status: /);
    const notV4 = await h.call('POST', '/api/v1/integrations/alertmanager', {
      token: 's3cret',
      body: { ...firingNotification('fp'), version: '3' },
    });
    expect(errorOf(notV4).message).toMatch(/^body\.version: /);
    expect(await everything(h)).toEqual({ alerts: [], incidents: [] });
  });

  it('answers 413 to a body over the limit and stores nothing', async () => {
    const h = await createApiHarness({ api: { maxBodyBytes: 2048 } });
    const body = firingNotification('fp-big', 'x'.repeat(4096));
    const reply = await h.call('POST', '/api/v1/integrations/alertmanager', { token: 's3cret', body });
    expect(reply.status).toBe(413);
    expect(errorOf(reply)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { maxBytes: 2048 } });
    // Without Content-Length (chunked), the limit holds while reading.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(JSON.stringify(body)));
        controller.close();
      },
    });
    const chunked = await h.app.request('/api/v1/integrations/alertmanager', {
      method: 'POST',
      headers: { authorization: 'Bearer s3cret', 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    });
    expect(chunked.status).toBe(413);
    expect(await everything(h)).toEqual({ alerts: [], incidents: [] });
  });

  it('maps Alertmanager severities and falls back to a label hash without a fingerprint', async () => {
    const h = await createApiHarness();
    const body = {
      version: '4',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'A', severity: 'warning' },
          annotations: { description: 'described' },
        },
        { status: 'firing', labels: { alertname: 'B' } },
      ],
    };
    expect(
      (await h.call('POST', '/api/v1/integrations/alertmanager', { token: 's3cret', body })).status,
    ).toBe(200);
    const alerts = (await h.store.alerts.list({ limit: 10 })).sort((a, b) =>
      a.summary.localeCompare(b.summary),
    );
    expect(alerts.map((a) => [a.summary, a.severity])).toEqual([
      ['B', 'error'],
      ['described', 'warning'],
    ]);
    expect(alerts.every((a) => a.fingerprint.startsWith('labels:'))).toBe(true);
    expect(
      (await h.call('POST', '/api/v1/integrations/alertmanager', { token: 's3cret', body })).status,
    ).toBe(200);
    expect(await h.store.alerts.list({ limit: 10 })).toHaveLength(2);
  });
});

describe('PagerDuty Events API v2 at /v2/enqueue', () => {
  it('triggers (202 with the dedup_key), deduplicates, acknowledges and resolves by dedup_key', async () => {
    const h = await createApiHarness();
    const trigger = await h.call('POST', '/v2/enqueue', { body: pd['trigger'] });
    expect(trigger.status).toBe(202);
    expect(pagerdutyAcceptedSchema.parse(trigger.body)).toEqual(pd['accepted']);
    expect((await h.call('POST', '/v2/enqueue', { body: pd['trigger'] })).status).toBe(202);
    const alerts = await h.store.alerts.list({ limit: 10 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      source: 'pagerduty',
      service: 'shop',
      fingerprint: 'samplekeyhere',
      severity: 'info',
      summary: 'Example alert on host1.example.com',
      startedAt: Date.parse('2015-07-17T08:42:58.315Z'),
      labels: {
        'ping time': '1500ms',
        'load avg': '0.75',
        component: 'postgres',
        group: 'prod-datapipe',
        class: 'deploy',
      },
    });
    const incidentId = alerts[0]!.incidentId!;

    expect((await h.call('POST', '/v2/enqueue', { body: pd['acknowledge'] })).status).toBe(202);
    expect((await incidentOf(h, incidentId)).incident.state).toBe('acknowledged');

    const resolve = await h.call('POST', '/v2/enqueue', { body: pd['resolve'] });
    expect(resolve.status).toBe(202);
    const after = await incidentOf(h, incidentId);
    expect(after.alerts[0]!.status).toBe('resolved');
    expect(after.incident.state).toBe('resolved');
  });

  it('generates a dedup_key for a trigger without one, and resolves with it', async () => {
    const h = await createApiHarness();
    const reply = await h.call('POST', '/v2/enqueue', { body: pd['triggerWithoutDedupKey'] });
    expect(reply.status).toBe(202);
    const { dedup_key } = pagerdutyAcceptedSchema.parse(reply.body);
    expect(dedup_key).toMatch(/^[0-9a-f]{32}$/);
    const resolve = await h.call('POST', '/v2/enqueue', {
      body: { routing_key: 'pd-routing-key-0123456789abcdef', event_action: 'resolve', dedup_key },
    });
    expect(resolve.status).toBe(202);
    const [alert] = await h.store.alerts.list({ limit: 10 });
    expect(alert).toMatchObject({ fingerprint: dedup_key, status: 'resolved', severity: 'critical' });
  });

  it("refuses bad events in PagerDuty's own 400 shape and stores nothing", async () => {
    const h = await createApiHarness();
    const key = 'pd-routing-key-0123456789abcdef';
    const cases: [unknown, RegExp][] = [
      [{ routing_key: key, event_action: 'trigger' }, /payload/],
      [{ routing_key: key, event_action: 'resolve' }, /dedup_key/],
      [{ routing_key: key, event_action: 'explode', dedup_key: 'k' }, /event_action/],
      [
        { ...pd['trigger'], payload: { summary: 's', source: 'x', severity: 'catastrophic' } },
        /payload\.severity/,
      ],
      [{ ...pd['trigger'], routing_key: 'not-a-known-key' }, /routing_key/],
      [{ ...pd['trigger'], routing_key: 's3cret' }, /routing_key/], // an Alertmanager secret is not a PagerDuty key
    ];
    for (const [body, error] of cases) {
      const reply = await h.call('POST', '/v2/enqueue', { body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      const parsed = pagerdutyInvalidSchema.parse(reply.body);
      expect(parsed.message).toBe('Event object is invalid');
      expect(parsed.errors.join('\n')).toMatch(error);
    }
    const notJson = await h.call('POST', '/v2/enqueue', { raw: 'routing_key=abc' });
    expect(pagerdutyInvalidSchema.parse(notJson.body).status).toBe('invalid event');
    expect(await everything(h)).toEqual({ alerts: [], incidents: [] });
  });

  it('counts inbound alerts by integration in /metrics', async () => {
    const h = await createApiHarness();
    await h.call('POST', '/v2/enqueue', { body: pd['trigger'] });
    await replay(h, recorded.notifications[0]!);
    const metrics = await h.call('GET', '/metrics', { token: h.secrets.viewer });
    expect(metrics.text).toContain('hindsight_inbound_alerts_total{integration="pagerduty"} 1');
    expect(metrics.text).toContain('hindsight_inbound_alerts_total{integration="alertmanager"} 1');
    expect(metrics.text).toContain('hindsight_alerts_firing 2');
  });
});
