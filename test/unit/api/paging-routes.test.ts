import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CatalogService } from '../../../src/app/catalog-service.js';
import { EscalationCycle } from '../../../src/app/escalation-cycle.js';
import { FindingIntake } from '../../../src/app/finding-intake.js';
import { InboundAlertIntake } from '../../../src/app/inbound-alert-intake.js';
import { IncidentService } from '../../../src/app/incident-service.js';
import { OutboxSender } from '../../../src/app/outbox-sender.js';
import { PagingQueries } from '../../../src/app/paging-queries.js';
import { RuleQueries } from '../../../src/app/rule-queries.js';
import { TokenService } from '../../../src/app/token-service.js';
import { signedAcknowledgeLinks } from '../../../src/api/acknowledge-links.js';
import { createApiApp } from '../../../src/api/create-api-app.js';
import { storeStatus } from '../../../src/api/routes/health-routes.js';
import { createServerMetrics } from '../../../src/api/server-metrics.js';
import { openIncident } from '../../../src/core/alert-correlation.js';
import { deliveryFailed } from '../../../src/core/notification.js';
import { parseConfig } from '../../../src/config/config-file.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { DeployService } from '../../../src/app/deploy-service.js';
import { SignalIntake } from '../../../src/app/signal-intake.js';
import { FakeClock } from '../../support/fake-clock.js';
import { CountingIds } from '../../support/sample-builder.js';
import { RecordingNotifiers, SHOP_PAGING } from '../../scenarios/paging-world.js';

async function pagingApi() {
  const store = new MemoryStore();
  const clock = new FakeClock(Date.parse('2026-03-29T06:59:00Z'));
  const ids = new CountingIds();
  const tokens = new TokenService({ store, clock, ids });
  const notifiers = new RecordingNotifiers();
  const links = signedAcknowledgeLinks({
    key: await store.paging.signingKey('test-signing-key'),
    baseUrl: 'http://h',
  });
  const escalation = new EscalationCycle({ store, ids, baseUrl: 'http://h', acknowledgeLinks: links });
  const incidents = new IncidentService({ store, clock, ids });
  const queries = new PagingQueries({ store, notifiers, ids });
  const metrics = createServerMetrics({ processMetrics: false });
  const app = createApiApp({
    incidents,
    alerts: store.alerts,
    rules: new RuleQueries({ store }),
    findings: new FindingIntake({ store }),
    inbound: new InboundAlertIntake({ store, clock, ids }),
    events: new SignalIntake({ store }),
    deploys: new DeployService({ store, clock, ids }),
    tokens,
    catalog: new CatalogService({ store }),
    status: storeStatus(store),
    paging: {
      onCall: (at) => queries.onCall(at),
      testChannel: (name, by, now) => queries.testChannel(name, by, now),
      escalateNow: (id, actor, now) => escalation.escalateNow(id, actor, now),
      checkAcknowledgeLink: (id, link, now) => links.check(id, link, now),
      checkViewLink: (id, link, now) => links.checkView(id, link, now),
      acknowledgeUrl: (id, now) => links.link(id, now).url,
      acknowledgeByLink: (id) => incidents.acknowledge(id, 'link'),
    },
    metrics,
    logger: pino({ level: 'silent' }),
    clock,
  });
  const parsed = parseConfig(SHOP_PAGING, { env: { HOOK_SECRET: 'x' } });
  if (!parsed.ok) throw new Error('bad config');
  await store.paging.save(parsed.config.paging, clock.now());
  for (const s of parsed.config.services)
    await store.services.save({
      name: s.name,
      grouping: s.grouping,
      integrations: [],
      rules: {},
      escalationPolicy: s.escalationPolicy ?? null,
    });
  const admin = (await tokens.create({ name: 'ann', role: 'admin' })).secret;
  const responder = (await tokens.create({ name: 'rita', role: 'responder' })).secret;
  const viewer = (await tokens.create({ name: 'vic', role: 'viewer' })).secret;
  const call = async (method: string, path: string, token?: string) => {
    const response = await app.request(path, {
      method,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text };
  };
  return {
    app,
    store,
    clock,
    ids,
    notifiers,
    metrics,
    escalation,
    call,
    secrets: { admin, responder, viewer },
  };
}

describe('paging routes', () => {
  it('GET /api/v1/oncall says who is on call now or at a time, across the DST hand-off', async () => {
    const api = await pagingApi();
    const now = await api.call('GET', '/api/v1/oncall', api.secrets.viewer);
    expect(now.status).toBe(200);
    expect(now.body.schedules).toContainEqual(
      expect.objectContaining({
        schedule: 'weekend',
        user: 'alice',
        until: Date.parse('2026-03-29T07:00:00Z'),
      }),
    );
    const later = await api.call(
      'GET',
      `/api/v1/oncall?at=${encodeURIComponent('2026-03-29T09:00:00+02:00')}`,
      api.secrets.viewer,
    );
    expect(later.body.schedules).toContainEqual(
      expect.objectContaining({ schedule: 'weekend', user: 'bob', source: 'rotation' }),
    );
    expect((await api.call('GET', '/api/v1/oncall?at=soon', api.secrets.viewer)).status).toBe(400);
    expect((await api.call('GET', '/api/v1/oncall')).status).toBe(401);
  });

  it('POST /api/v1/channels/:name/test reports the outcome; admins only; 404 for an unknown channel', async () => {
    const api = await pagingApi();
    const sent = await api.call('POST', '/api/v1/channels/ops-hook/test', api.secrets.admin);
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({
      channel: 'ops-hook',
      type: 'webhook',
      destination: 'webhook ops-hook',
      result: { outcome: 'sent' },
    });
    expect(api.notifiers.received[0]?.notification).toMatchObject({
      kind: 'test',
      channel: 'ops-hook',
      requestedBy: 'token:ann',
    });
    api.notifiers.failNext(deliveryFailed('503 from ops.example.com', { retryable: true }));
    const failed = await api.call('POST', '/api/v1/channels/ops-hook/test', api.secrets.admin);
    expect(failed.body.result).toEqual({
      outcome: 'failed',
      retryable: true,
      reason: '503 from ops.example.com',
    });
    expect((await api.call('POST', '/api/v1/channels/ops-hook/test', api.secrets.responder)).status).toBe(
      403,
    );
    const missing = await api.call('POST', '/api/v1/channels/nope/test', api.secrets.admin);
    expect([missing.status, missing.body.code]).toEqual([404, 'CHANNEL_NOT_FOUND']);
  });

  it('POST /api/v1/incidents/:id/escalate takes the next step now; 404 unknown, 409 resolved, 403 for a viewer', async () => {
    const api = await pagingApi();
    await api.store.incidents.insert(
      openIncident({
        id: 'i1',
        service: 'shop',
        groupKey: 'shop',
        title: 't',
        summary: 's',
        severity: 'critical',
        at: api.clock.now(),
      }),
    );
    await api.escalation.run(api.clock.now());
    const reply = await api.call('POST', '/api/v1/incidents/i1/escalate', api.secrets.responder);
    expect([reply.status, reply.body]).toEqual([200, { steps: 1, enqueued: 2 }]);
    const pages = (await api.store.outbox.list({})).map(
      (m) => `${m.notification.kind} ${m.notification.recipient?.user?.name ?? m.channel}`,
    );
    expect(pages).toEqual(['triggered alice', 'triggered ops-hook', 'escalated dora', 'escalated dan']);
    const step = (await api.store.timeline.list('i1')).filter((e) => e.kind === 'escalated').at(-1);
    expect(step).toMatchObject({
      actor: 'token:rita',
      text: expect.stringMatching(/^escalated by hand: step 2 of shop-oncall/) as unknown,
    });
    expect((await api.call('POST', '/api/v1/incidents/i1/escalate', api.secrets.viewer)).status).toBe(403);
    expect((await api.call('POST', '/api/v1/incidents/nope/escalate', api.secrets.responder)).status).toBe(
      404,
    );
    await api.call('POST', '/api/v1/incidents/i1/resolve', api.secrets.responder);
    expect((await api.call('POST', '/api/v1/incidents/i1/escalate', api.secrets.responder)).status).toBe(409);
  });

  it('a page carries a signed, expiring link: GET shows a button and changes nothing, POST acknowledges; a forged, foreign or expired link is 403', async () => {
    const api = await pagingApi();
    await api.store.incidents.insert(
      openIncident({
        id: 'i1',
        service: 'weekend',
        groupKey: 'w',
        title: 't',
        summary: 's',
        severity: 'critical',
        at: api.clock.now(),
      }),
    );
    await api.store.incidents.insert(
      openIncident({
        id: 'i2',
        service: 'weekend',
        groupKey: 'w2',
        title: 't',
        summary: 's',
        severity: 'critical',
        at: api.clock.now(),
      }),
    );
    await api.escalation.run(api.clock.now());
    const page = (await api.store.outbox.list({ incidentId: 'i1' }))[0]!.notification;
    const link = page.kind === 'triggered' ? page.acknowledge : null;
    expect(link?.expiresAt).toBe(api.clock.now() + 4 * 3_600_000);
    const path = new URL(link!.url).pathname + new URL(link!.url).search;
    expect(path).toMatch(/^\/api\/v1\/incidents\/i1\/acknowledge-link\?exp=\d+&sig=[\w-]+$/);

    const shown = await api.app.request(path);
    expect([shown.status, await shown.text()]).toEqual([
      200,
      expect.stringContaining('<form method="post"') as unknown,
    ]);
    expect((await api.store.incidents.get('i1'))?.state).toBe('triggered');
    expect((await api.app.request(path.replace('/i1/', '/i2/'), { method: 'POST' })).status).toBe(403);
    expect((await api.app.request(path.replace(/sig=./, 'sig=X'), { method: 'POST' })).status).toBe(403);
    const done = await api.app.request(path, { method: 'POST' });
    expect(done.status).toBe(200);
    expect(await api.store.incidents.get('i1')).toMatchObject({ state: 'acknowledged' });
    expect((await api.store.timeline.list('i1')).at(-1)).toMatchObject({
      kind: 'state_changed',
      actor: 'link',
    });
    expect((await api.app.request(path, { method: 'POST' })).status).toBe(409);
    api.clock.advance(4 * 3_600_000 + 1);
    const expired = await api.app.request(path, { method: 'POST' });
    expect([expired.status, ((await expired.json()) as { code: string }).code]).toEqual([
      403,
      'LINK_EXPIRED',
    ]);
  });

  it("a page links to the incident's own page: signed for viewing it, the monitored world's text shown as text, an acknowledge button while triggered", async () => {
    const api = await pagingApi();
    await api.store.incidents.insert(
      openIncident({
        id: 'i1',
        service: 'weekend',
        groupKey: 'w',
        title: 'Deadlock on <script>alert(1)</script>',
        summary: 'UPDATE "orders" SET x = 1 WHERE note = \'<img src=x onerror=alert(2)>\'',
        severity: 'critical',
        at: api.clock.now(),
      }),
    );
    await api.escalation.run(api.clock.now());
    const page = (await api.store.outbox.list({ incidentId: 'i1' }))[0]!.notification;
    if (page.kind === 'test' || page.kind === 'digest') throw new Error('an incident page');
    const url = new URL(page.incident.url);
    expect(url.pathname).toBe('/incidents/i1');
    const path = url.pathname + url.search;

    const shown = await api.app.request(path);
    const body = await shown.text();
    expect(shown.status).toBe(200);
    expect(shown.headers.get('content-type')).toMatch(/^text\/html/);
    expect(body).toContain('Deadlock on &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(body).not.toContain('<script>');
    expect(body).not.toContain('<img');
    const action = /<form method="post" action="([^"]+)"/.exec(body)?.[1]?.replace(/&amp;/g, '&');
    expect(action).toMatch(/\/api\/v1\/incidents\/i1\/acknowledge-link\?exp=\d+&sig=/);
    expect((await api.store.incidents.get('i1'))?.state).toBe('triggered');
    expect(
      (await api.app.request(new URL(action!).pathname + new URL(action!).search, { method: 'POST' })).status,
    ).toBe(200);
    expect(await (await api.app.request(path)).text()).not.toContain('<form');

    // A view link is not an acknowledge link, nor one for another incident; it expires.
    const ackPath = path.replace('/incidents/i1?', '/api/v1/incidents/i1/acknowledge-link?');
    expect((await api.app.request(ackPath, { method: 'POST' })).status).toBe(403);
    expect((await api.app.request(path.replace(/sig=./, 'sig=X'))).status).toBe(403);
    expect((await api.app.request('/incidents/i1')).status).toBe(400);
    api.clock.advance(14 * 24 * 3_600_000 + 1);
    const expired = await api.app.request(path);
    expect([expired.status, ((await expired.json()) as { code: string }).code]).toEqual([
      403,
      'LINK_EXPIRED',
    ]);
  });

  it('/metrics counts notifications by channel and outcome, and the time from open to first page', async () => {
    const api = await pagingApi();
    await api.store.incidents.insert(
      openIncident({
        id: 'i1',
        service: 'weekend',
        groupKey: 'w',
        title: 't',
        summary: 's',
        severity: 'critical',
        at: api.clock.now(),
      }),
    );
    await api.escalation.run(api.clock.now());
    api.clock.advance(1_500);
    const sender = new OutboxSender({
      store: api.store,
      notifiers: api.notifiers,
      ids: api.ids,
      onOutcome: (o) => {
        api.metrics.countNotification(o.channel, o.outcome);
        if (o.outcome === 'sent' && o.incidentCreatedAt !== null)
          api.metrics.observeFirstPage((o.at - o.incidentCreatedAt) / 1000);
      },
    });
    await sender.run(api.clock.now(), new AbortController().signal);
    const text = await api.metrics.render({
      alerts: { firing: 0, resolved: 0 },
      incidents: { triggered: 1, acknowledged: 0, mitigated: 0, resolved: 0, closed: 0, cancelled: 0 },
    });
    expect(text).toContain('hindsight_notifications_total{channel="mail",outcome="sent"} 1');
    expect(text).toContain('hindsight_incident_first_page_seconds_bucket{le="2"} 1');
    expect(text).toContain('hindsight_incident_first_page_seconds_bucket{le="1"} 0');
  });
});
