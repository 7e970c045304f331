import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inboundReplySchema } from '../../../src/api/integrations/alertmanager-webhook.js';
import { incidentDetailSchema } from '../../../src/api/schemas/incident-schemas.js';
import type { Finding } from '../../../src/core/finding.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { createApiHarness, errorOf, openIncident } from '../../support/api-harness.js';
import { createTestDatabase, withClient, type TestDatabase } from '../../support/database.js';

const TABLES =
  'findings, alerts, incidents, timeline, evidence_links, rule_states, services, targets, target_health, api_tokens';

const recorded = JSON.parse(
  readFileSync(
    new URL('../../fixtures/integrations/alertmanager-0.25-recorded.json', import.meta.url),
    'utf8',
  ),
) as {
  notifications: { auth: string; path: string; body: unknown }[];
};

let db: TestDatabase;
let store: PostgresStore | null = null;
beforeAll(async () => {
  db = await createTestDatabase('api');
});
afterEach(async () => {
  await store?.close();
  store = null;
});
afterAll(async () => {
  await db.drop();
});

const harness = async () => {
  store = await PostgresStore.open({ url: db.url });
  await withClient(db.url, (c) => c.query(`TRUNCATE ${TABLES} RESTART IDENTITY`));
  return createApiHarness({ store });
};

/** The API on the PostgreSQL store: the same behaviour as on the memory fake, for what the store decides. */
describe('the API on PostgreSQL', () => {
  it('replays the recorded Alertmanager notifications: one incident, deduplicated, resolved', async () => {
    const h = await harness();
    const [firing, resolved] = recorded.notifications;
    const replay = (n: typeof firing) =>
      h.call('POST', n!.path, { body: n!.body, headers: { authorization: n!.auth } });
    const first = inboundReplySchema.parse((await replay(firing)).body).alerts[0]!;
    expect(inboundReplySchema.parse((await replay(firing)).body).alerts[0]).toMatchObject({
      alertId: first.alertId,
      incidentId: first.incidentId,
    });
    expect((await replay(resolved)).status).toBe(200);
    const detail = incidentDetailSchema.parse(
      (await h.call('GET', `/api/v1/incidents/${first.incidentId!}`, { token: h.secrets.viewer })).body,
    );
    expect(detail.incident.state).toBe('resolved');
    expect(detail.alerts).toHaveLength(1);
    expect(detail.alerts[0]).toMatchObject({
      status: 'resolved',
      labels: { alertname: 'PostgresDeadlocks', instance: 'shop-db:9187' },
    });
  });

  it('lets exactly one of two concurrent acknowledgements win (409 for the other)', async () => {
    const h = await harness();
    const id = await openIncident(h);
    const replies = await Promise.all([
      h.call('POST', `/api/v1/incidents/${id}/acknowledge`, { token: h.secrets.responder }),
      h.call('POST', `/api/v1/incidents/${id}/acknowledge`, { token: h.secrets.admin }),
    ]);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 409]);
    const detail = incidentDetailSchema.parse(
      (await h.call('GET', `/api/v1/incidents/${id}`, { token: h.secrets.viewer })).body,
    );
    expect(detail.timeline.filter((e) => e.kind === 'state_changed')).toHaveLength(1);
  });

  it('stores pushed findings as sent, and nothing of a rejected push', async () => {
    const h = await harness();
    const finding: Finding = {
      kind: 'deadlock',
      id: 'dl-pg-1',
      target: 'shop-db',
      at: h.clock.now() - 500,
      source: 'log',
      victimPid: 7,
      processes: [
        {
          pid: 7,
          waitsForMode: 'ShareLock',
          waitsForObject: 'transaction 9',
          relation: 'public.inventory',
          blockedBy: 8,
          query: 'UPDATE inventory SET qty = $1',
        },
        {
          pid: 8,
          waitsForMode: 'ShareLock',
          waitsForObject: 'transaction 10',
          relation: 'public.products',
          blockedBy: 7,
          query: 'UPDATE products SET stock = $1',
        },
      ],
      count: 1,
      database: 'shop',
    };
    const bad = await h.call('POST', '/api/v1/ingest/findings', {
      token: h.secrets.responder,
      body: { agent: 'a', findings: [finding, { ...finding, id: 'x', kind: 'nope' }] },
    });
    expect(bad.status).toBe(400);
    expect(await h.store.findings.list({ since: 0 })).toEqual([]);
    const ok = await h.call('POST', '/api/v1/ingest/findings', {
      token: h.secrets.responder,
      body: { agent: 'a', findings: [finding], health: [] },
    });
    expect(ok.status).toBe(202);
    expect(await h.store.findings.list({ since: 0 })).toEqual([finding]);
  });

  it('keeps tokens and integration secrets hashed in the database', async () => {
    const h = await harness();
    const rows = await withClient(
      db.url,
      async (c) => (await c.query('SELECT * FROM api_tokens')).rows as unknown[],
    );
    const services = await withClient(
      db.url,
      async (c) => (await c.query('SELECT * FROM services')).rows as unknown[],
    );
    const dump = JSON.stringify([rows, services]);
    for (const secret of [
      h.secrets.admin,
      h.secrets.responder,
      h.secrets.viewer,
      's3cret',
      'pd-routing-key-0123456789abcdef',
    ]) {
      expect(dump).not.toContain(secret);
    }
    expect(errorOf(await h.call('GET', '/api/v1/incidents', { token: 'hs_unknown' })).code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await h.call('GET', '/api/v1/incidents', { token: h.secrets.viewer })).status).toBe(200);
  });
});
