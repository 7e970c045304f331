import { describe, expect, it } from 'vitest';
import { incidentDetailSchema } from '../../../src/api/schemas/incident-schemas.js';
import { showIncident } from '../../../src/cli/commands/incident-run.js';
import { renderIncidentDetail } from '../../../src/cli/incident-view.js';
import { createApiHarness, openIncident } from '../../support/api-harness.js';
import { incident } from '../../support/finding-builder.js';

/** 200 users browse, 60 check out and fail with a deadlock at checkout.ts:88 — sent as the SDK sends them. */
const batch = (at: number) => ({
  service: 'shop',
  events: Array.from({ length: 200 }, (_, u) => {
    const user = `u${String(u).padStart(3, '0')}`;
    return u < 60
      ? {
          kind: 'request',
          at,
          method: 'POST',
          route: '/checkout',
          status: 500,
          durationMs: 12,
          user,
          errorClass: 'DatabaseError',
          release: 'v2',
          sqlFailures: [
            {
              sqlstate: '40P01',
              query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
              callSite: 'demo/shop/checkout.ts:88',
            },
          ],
        }
      : {
          kind: 'request',
          at,
          method: 'GET',
          route: '/products',
          status: 200,
          durationMs: 3,
          user,
          errorClass: null,
          release: 'v2',
          sqlFailures: [],
        };
  }),
});

describe('the app side on GET /api/v1/incidents/:id and in `hindsight incident show`', () => {
  it('shows impact, attribution and the onset deploy, as the schema says', async () => {
    const h = await createApiHarness();
    const now = h.clock.now();
    expect(
      (
        await h.call('POST', '/api/v1/deploys', {
          token: h.secrets.admin,
          body: { service: 'shop', version: 'v2', commit: 'abc123', at: now - 24_000 },
        })
      ).status,
    ).toBe(201);
    expect(
      (await h.call('POST', '/api/v1/events', { token: h.secrets.admin, body: batch(now - 10_000) })).status,
    ).toBe(202);
    const id = await openIncident(h);
    const reply = await h.call('GET', `/api/v1/incidents/${id}`, { token: h.secrets.viewer });
    expect(reply.status).toBe(200);
    const detail = incidentDetailSchema.parse(reply.body);
    expect(detail.impact).toMatchObject({
      affectedUsers: 60,
      activeUsers: 200,
      share: 0.3,
      truncated: false,
    });
    expect(detail.attribution).toEqual([
      {
        route: 'POST /checkout',
        sqlstate: '40P01',
        callSite: 'demo/shop/checkout.ts:88',
        query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
        errorClass: 'DatabaseError',
        share: 1,
        failures: 60,
      },
    ]);
    expect(detail.onsetDeploy).toEqual({
      version: 'v2',
      commit: 'abc123',
      at: now - 24_000,
      minutesBeforeOnset: 0.4,
    });

    let out = '';
    const io = {
      stdout: Object.assign(
        { write: (chunk: string) => ((out += chunk), true) },
        { columns: 100 },
      ) as unknown as NodeJS.WritableStream & { columns: number },
      fetch: ((input: string | URL | Request, init?: RequestInit) =>
        h.app.request(input, init)) as typeof fetch,
      now: () => now + 60_000,
    };
    await showIncident(id, { server: 'http://hindsight.test', token: h.secrets.viewer, json: false }, io);
    expect(out).toMatch(/\n {2}impact {4}30% of users affected: 60 of 200 active in \d+ s\n/);
    expect(out).toContain('  onset     began 24 s after deploy v2 (abc123) at 2026-11-30 15:38:36Z\n');
    expect(out).toContain(
      'failures by cause:\n  100% of POST /checkout (60)  40P01 DatabaseError at demo/shop/checkout.ts:88: UPDATE inventory SET stock = stock - $1 WHERE product_id = $2\n',
    );
  });

  it('prints text from the monitored world as text, and nothing for an incident without app signals', () => {
    const base = { incident: incident(), timeline: [], alerts: [], evidence: [] };
    const plain = renderIncidentDetail(base, 0);
    expect(plain).not.toContain('impact');
    expect(plain).not.toContain('failures by cause');
    const hostile = renderIncidentDetail(
      {
        ...base,
        impact: null,
        onsetDeploy: { version: 'v2\u001b[2J', commit: null, at: 0, minutesBeforeOnset: 1 },
        attribution: [
          {
            route: 'POST /x\u0007',
            sqlstate: '40P01',
            callSite: 'a.ts:1\u001b]0;',
            query: 'SELECT 1\nFROM t',
            errorClass: null,
            share: 0.5,
            failures: 2,
          },
        ],
      },
      0,
    );
    expect(hostile).toContain('after deploy v2\\x1b[2J at');
    expect(hostile).toContain('50% of POST /x\\x07 (2)  40P01 at a.ts:1\\x1b]0;: SELECT 1 FROM t');
    expect(hostile.includes('\u0007') || hostile.includes('\u001b')).toBe(false);
  });
});
