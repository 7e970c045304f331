import { describe, expect, it } from 'vitest';
import { createApiHarness, errorOf } from '../../support/api-harness.js';

describe('bearer tokens and roles', () => {
  it('answers 401 without a token and with an unknown one, on every route that needs one', async () => {
    const h = await createApiHarness();
    const guarded = [
      ['GET', '/api/v1/incidents'],
      ['GET', '/api/v1/incidents/x'],
      ['POST', '/api/v1/incidents/x/acknowledge'],
      ['POST', '/api/v1/incidents/x/notes'],
      ['GET', '/api/v1/alerts'],
      ['GET', '/api/v1/rules'],
      ['GET', '/api/v1/services'],
      ['PUT', '/api/v1/services/shop'],
      ['DELETE', '/api/v1/services/shop'],
      ['GET', '/api/v1/targets'],
      ['PUT', '/api/v1/targets/shop-db'],
      ['GET', '/api/v1/tokens'],
      ['POST', '/api/v1/tokens'],
      ['DELETE', '/api/v1/tokens/x'],
      ['POST', '/api/v1/ingest/findings'],
      ['GET', '/api/v1/openapi.json'],
      ['GET', '/metrics'],
    ] as const;
    for (const [method, path] of guarded) {
      const none = await h.call(method, path);
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(errorOf(none).code).toBe('UNAUTHENTICATED');
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const unknown = await h.call(method, path, { token: 'hs_not-a-token' });
      expect(unknown.status, `${method} ${path}`).toBe(401);
      const basic = await h.call(method, path, {
        headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      });
      expect(basic.status, `${method} ${path}`).toBe(401);
    }
  });

  it('lets health probes through without a token', async () => {
    const h = await createApiHarness();
    expect((await h.call('GET', '/healthz')).status).toBe(200);
    expect((await h.call('GET', '/readyz')).status).toBe(200);
  });

  it('orders roles viewer < responder < admin', async () => {
    const h = await createApiHarness();
    const { viewer, responder, admin } = h.secrets;
    expect((await h.call('GET', '/api/v1/incidents', { token: viewer })).status).toBe(200);
    expect((await h.call('GET', '/api/v1/tokens', { token: responder })).status).toBe(403);
    expect((await h.call('GET', '/api/v1/tokens', { token: admin })).status).toBe(200);
    const ingest = { agent: 'a1', findings: [], health: [] };
    expect((await h.call('POST', '/api/v1/ingest/findings', { token: viewer, body: ingest })).status).toBe(
      403,
    );
    expect((await h.call('POST', '/api/v1/ingest/findings', { token: responder, body: ingest })).status).toBe(
      202,
    );
    expect((await h.call('PUT', '/api/v1/services/billing', { token: responder, body: {} })).status).toBe(
      403,
    );
    expect((await h.call('PUT', '/api/v1/services/billing', { token: admin, body: {} })).status).toBe(200);
  });

  it('never logs the Authorization header or a secret; logs method, path, status and ms', async () => {
    const h = await createApiHarness();
    await h.call('GET', '/api/v1/incidents', { token: h.secrets.viewer });
    await h.call('POST', '/api/v1/integrations/alertmanager', { token: 's3cret', body: { alerts: [] } });
    await h.call('POST', '/v2/enqueue', {
      body: { routing_key: 'pd-routing-key-0123456789abcdef', event_action: 'bogus' },
    });
    const log = h.logLines.join('');
    for (const secret of [h.secrets.viewer, 's3cret', 'pd-routing-key-0123456789abcdef'])
      expect(log).not.toContain(secret);
    expect(log.toLowerCase()).not.toContain('authorization');
    const first = JSON.parse(h.logLines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ method: 'GET', path: '/api/v1/incidents', status: 200 });
    expect(typeof first['ms']).toBe('number');
  });

  it('answers an unknown route with a JSON 404', async () => {
    const h = await createApiHarness();
    const reply = await h.call('GET', '/api/v1/nothing-here', { token: h.secrets.viewer });
    expect(reply.status).toBe(404);
    expect(errorOf(reply).code).toBe('ROUTE_NOT_FOUND');
  });
});
