import { describe, expect, it } from 'vitest';
import {
  serviceListSchema,
  serviceSchema,
  targetListSchema,
  targetSchema,
  tokenCreatedSchema,
  tokenListSchema,
} from '../../../src/api/schemas/catalog-schemas.js';
import { createApiHarness, errorOf } from '../../support/api-harness.js';

describe('services and targets through the API', () => {
  it('creates, reads, updates and deletes services; secrets never come back', async () => {
    const h = await createApiHarness();
    const put = await h.call('PUT', '/api/v1/services/billing', {
      token: h.secrets.admin,
      body: {
        grouping: { kind: 'window', windowMs: 300_000, by: ['instance'] },
        integrations: [{ type: 'alertmanager', secret: 'billing-am-secret' }],
        rules: { deadlocks: { threshold: 3 } },
      },
    });
    expect(put.status).toBe(200);
    expect(put.text).not.toContain('billing-am-secret');
    expect(serviceSchema.parse(put.body)).toEqual({
      name: 'billing',
      grouping: { kind: 'window', windowMs: 300_000, by: ['instance'] },
      integrations: [{ type: 'alertmanager' }],
      rules: { deadlocks: { threshold: 3 } },
      escalationPolicy: null,
    });
    // An update that sends no integrations keeps them: the secret still works.
    const update = await h.call('PUT', '/api/v1/services/billing', {
      token: h.secrets.admin,
      body: { grouping: { kind: 'off' } },
    });
    expect(serviceSchema.parse(update.body)).toMatchObject({
      grouping: { kind: 'off' },
      integrations: [{ type: 'alertmanager' }],
    });
    const am = await h.call('POST', '/api/v1/integrations/alertmanager', {
      token: 'billing-am-secret',
      body: { alerts: [{ status: 'firing', labels: { alertname: 'X' }, fingerprint: 'f' }] },
    });
    expect(am.status).toBe(200);
    expect((await h.store.alerts.list({ limit: 10 }))[0]!.service).toBe('billing');

    const list = await h.call('GET', '/api/v1/services', { token: h.secrets.viewer });
    expect(serviceListSchema.parse(list.body).services.map((s) => s.name)).toEqual(['billing', 'shop']);
    expect(list.text).not.toMatch(/secret|[0-9a-f]{64}/i);

    expect((await h.call('DELETE', '/api/v1/services/billing', { token: h.secrets.admin })).status).toBe(204);
    expect((await h.call('GET', '/api/v1/services/billing', { token: h.secrets.viewer })).status).toBe(404);
    expect(errorOf(await h.call('DELETE', '/api/v1/services/billing', { token: h.secrets.admin })).code).toBe(
      'SERVICE_NOT_FOUND',
    );
  });

  it('names the bad field of a bad service, refuses a secret another service uses, and stores nothing', async () => {
    const h = await createApiHarness();
    const bad = await h.call('PUT', '/api/v1/services/billing', {
      token: h.secrets.admin,
      body: { grouping: { kind: 'window', windowMs: -5 } },
    });
    expect(bad.status).toBe(400);
    expect(errorOf(bad).message).toMatch(/^body\.grouping\.windowMs: /);
    const badRule = await h.call('PUT', '/api/v1/services/billing', {
      token: h.secrets.admin,
      body: { rules: { deadlocks: { treshold: 3 } } },
    });
    expect(badRule.status).toBe(400);
    expect(errorOf(badRule).message).toMatch(/^body\.rules\.deadlocks/);
    const badName = await h.call('PUT', '/api/v1/services/bad%20name', { token: h.secrets.admin, body: {} });
    expect(errorOf(badName).message).toMatch(/^params\.name: /);
    const taken = await h.call('PUT', '/api/v1/services/billing', {
      token: h.secrets.admin,
      body: { integrations: [{ type: 'alertmanager', secret: 's3cret' }] },
    });
    expect(taken.status).toBe(400);
    expect(errorOf(taken).code).toBe('INTEGRATION_SECRET_IN_USE');
    expect((await h.store.services.list()).map((s) => s.name)).toEqual(['shop']);
  });

  it('keeps targets with redacted URLs and their reported health; a service with targets cannot be deleted (409)', async () => {
    const h = await createApiHarness();
    const put = await h.call('PUT', '/api/v1/targets/shop-db', {
      token: h.secrets.admin,
      body: {
        url: 'postgres://monitor:hunter2@db.internal:5432/shop',
        service: 'shop',
        log: '/var/log/postgresql/postgresql-18-main.log',
      },
    });
    expect(put.status).toBe(200);
    expect(put.text).not.toContain('hunter2');
    expect(targetSchema.parse(put.body)).toMatchObject({
      name: 'shop-db',
      redactedUrl: 'postgres://monitor:***@db.internal:5432/shop',
      service: 'shop',
      health: null,
    });

    const unknownService = await h.call('PUT', '/api/v1/targets/other-db', {
      token: h.secrets.admin,
      body: { url: 'postgres://db/x', service: 'nope' },
    });
    expect(unknownService.status).toBe(400);
    expect(errorOf(unknownService).code).toBe('TARGET_SERVICE_UNKNOWN');
    const badUrl = await h.call('PUT', '/api/v1/targets/other-db', {
      token: h.secrets.admin,
      body: { url: 'mysql://db/x', service: 'shop' },
    });
    expect(errorOf(badUrl).message).toMatch(/^body\.url: /);

    await h.call('POST', '/api/v1/ingest/findings', {
      token: h.secrets.responder,
      body: {
        agent: 'agent-7',
        findings: [],
        health: [{ target: 'shop-db', reachable: false, problem: 'connection refused', lastSampleAt: null }],
      },
    });
    const list = targetListSchema.parse(
      (await h.call('GET', '/api/v1/targets', { token: h.secrets.viewer })).body,
    );
    expect(list.targets).toHaveLength(1);
    expect(list.targets[0]!.health).toEqual({
      target: 'shop-db',
      reachable: false,
      problem: 'connection refused',
      lastSampleAt: null,
      agent: 'agent-7',
      reportedAt: h.clock.now(),
    });

    const refused = await h.call('DELETE', '/api/v1/services/shop', { token: h.secrets.admin });
    expect(refused.status).toBe(409);
    expect(errorOf(refused).message).toMatch(/shop-db/);
    expect((await h.call('DELETE', '/api/v1/targets/shop-db', { token: h.secrets.admin })).status).toBe(204);
    expect((await h.call('GET', '/api/v1/targets/shop-db', { token: h.secrets.viewer })).status).toBe(404);
    expect((await h.call('DELETE', '/api/v1/services/shop', { token: h.secrets.admin })).status).toBe(204);
  });
});

describe('tokens through the API', () => {
  it('shows a new secret once, lists tokens without secrets, and a deleted token stops working', async () => {
    const h = await createApiHarness();
    const created = await h.call('POST', '/api/v1/tokens', {
      token: h.secrets.admin,
      body: { name: 'ci', role: 'responder' },
    });
    expect(created.status).toBe(201);
    const { token, secret } = tokenCreatedSchema.parse(created.body);
    expect(secret).toMatch(/^hs_[A-Za-z0-9_-]{43}$/);
    expect((await h.call('POST', `/api/v1/incidents/none/acknowledge`, { token: secret })).status).toBe(404); // authenticated, responder

    const list = await h.call('GET', '/api/v1/tokens', { token: h.secrets.admin });
    expect(tokenListSchema.parse(list.body).tokens.map((t) => [t.name, t.role])).toEqual([
      ['alice', 'admin'],
      ['rita', 'responder'],
      ['vic', 'viewer'],
      ['ci', 'responder'],
    ]);
    expect(list.text).not.toContain(secret);
    expect(list.text).not.toMatch(/secret|hash/i);

    expect((await h.call('DELETE', `/api/v1/tokens/${token.id}`, { token: h.secrets.admin })).status).toBe(
      204,
    );
    expect((await h.call('GET', '/api/v1/incidents', { token: secret })).status).toBe(401);
    expect(
      errorOf(await h.call('DELETE', `/api/v1/tokens/${token.id}`, { token: h.secrets.admin })).code,
    ).toBe('TOKEN_NOT_FOUND');
  });

  it('names the bad field of a bad token request and creates nothing', async () => {
    const h = await createApiHarness();
    const reply = await h.call('POST', '/api/v1/tokens', {
      token: h.secrets.admin,
      body: { name: 'ci', role: 'root' },
    });
    expect(reply.status).toBe(400);
    expect(errorOf(reply)).toMatchObject({
      code: 'INVALID_REQUEST',
      details: { issues: [{ field: 'body.role' }] },
    });
    expect(await h.tokens.list()).toHaveLength(3);
  });
});
