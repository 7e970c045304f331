import { describe, expect, it } from 'vitest';
import {
  incidentDetailSchema,
  incidentListSchema,
  incidentSchema,
  timelineEntrySchema,
} from '../../../src/api/schemas/incident-schemas.js';
import { createApiHarness, errorOf, openIncident } from '../../support/api-harness.js';

describe('incident routes', () => {
  it('lists open incidents and shows one with its timeline, alerts and evidence', async () => {
    const h = await createApiHarness();
    const id = await openIncident(h);

    const list = await h.call('GET', '/api/v1/incidents', { token: h.secrets.viewer });
    expect(list.status).toBe(200);
    expect(incidentListSchema.parse(list.body).incidents.map((i) => i.id)).toEqual([id]);
    const resolvedOnly = await h.call('GET', '/api/v1/incidents?state=resolved', { token: h.secrets.viewer });
    expect(incidentListSchema.parse(resolvedOnly.body).incidents).toEqual([]);

    const detail = await h.call('GET', `/api/v1/incidents/${id}`, { token: h.secrets.viewer });
    expect(detail.status).toBe(200);
    const parsed = incidentDetailSchema.parse(detail.body);
    expect(parsed.incident).toMatchObject({ id, service: 'shop', state: 'triggered', severity: 'critical' });
    expect(parsed.alerts).toHaveLength(1);
    expect(parsed.alerts[0]).toMatchObject({ source: 'alertmanager', fingerprint: 'fp-1', status: 'firing' });
    expect(parsed.timeline.map((entry) => entry.kind)).toContain('opened');
    expect(parsed.evidence).toEqual([]);
  });

  it('moves an incident through its lifecycle, each change on the timeline with the token as actor', async () => {
    const h = await createApiHarness();
    const id = await openIncident(h);
    for (const [action, state] of [
      ['acknowledge', 'acknowledged'],
      ['mitigate', 'mitigated'],
      ['resolve', 'resolved'],
      ['reopen', 'triggered'],
      ['cancel', 'cancelled'],
    ] as const) {
      const reply = await h.call('POST', `/api/v1/incidents/${id}/${action}`, { token: h.secrets.responder });
      expect(reply.status, `${action}: ${reply.text}`).toBe(200);
      expect(incidentSchema.parse(reply.body).state).toBe(state);
    }
    const detail = incidentDetailSchema.parse(
      (await h.call('GET', `/api/v1/incidents/${id}`, { token: h.secrets.viewer })).body,
    );
    const changes = detail.timeline.filter((entry) => entry.kind === 'state_changed');
    expect(changes.map((entry) => entry.text)).toEqual([
      'acknowledged',
      'mitigated',
      'resolved',
      'triggered',
      'cancelled',
    ]);
    expect(new Set(changes.map((entry) => entry.actor))).toEqual(new Set(['token:rita']));
  });

  it('answers 409 to acknowledging twice and to a change made against a stale version, and 404 to an unknown id', async () => {
    const h = await createApiHarness();
    const id = await openIncident(h);
    const before = incidentDetailSchema.parse(
      (await h.call('GET', `/api/v1/incidents/${id}`, { token: h.secrets.viewer })).body,
    ).incident;

    expect(
      (await h.call('POST', `/api/v1/incidents/${id}/acknowledge`, { token: h.secrets.responder })).status,
    ).toBe(200);
    const twice = await h.call('POST', `/api/v1/incidents/${id}/acknowledge`, { token: h.secrets.responder });
    expect(twice.status).toBe(409);
    expect(errorOf(twice).code).toBe('INCIDENT_CONFLICT');

    const stale = await h.call('POST', `/api/v1/incidents/${id}/resolve`, {
      token: h.secrets.responder,
      body: { version: before.version },
    });
    expect(stale.status).toBe(409);
    expect(errorOf(stale).message).toMatch(/reload it/);
    const after = incidentDetailSchema.parse(
      (await h.call('GET', `/api/v1/incidents/${id}`, { token: h.secrets.viewer })).body,
    );
    expect(after.incident.state).toBe('acknowledged');

    const unknown = await h.call('POST', '/api/v1/incidents/inc-404/acknowledge', {
      token: h.secrets.responder,
    });
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).code).toBe('INCIDENT_NOT_FOUND');
    expect((await h.call('GET', '/api/v1/incidents/inc-404', { token: h.secrets.viewer })).status).toBe(404);
  });

  it('of two concurrent acknowledgements exactly one wins; the other gets 409', async () => {
    const h = await createApiHarness();
    const id = await openIncident(h);
    const replies = await Promise.all([
      h.call('POST', `/api/v1/incidents/${id}/acknowledge`, { token: h.secrets.responder }),
      h.call('POST', `/api/v1/incidents/${id}/acknowledge`, { token: h.secrets.admin }),
    ]);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  it('adds notes (dead ends marked) and names the bad field of a bad note', async () => {
    const h = await createApiHarness();
    const id = await openIncident(h);
    const note = await h.call('POST', `/api/v1/incidents/${id}/notes`, {
      token: h.secrets.responder,
      body: { text: 'Optimized the slow queries: no change', deadEnd: true },
    });
    expect(note.status).toBe(201);
    expect(timelineEntrySchema.parse(note.body)).toMatchObject({
      kind: 'note',
      deadEnd: true,
      actor: 'token:rita',
    });

    const bad = await h.call('POST', `/api/v1/incidents/${id}/notes`, {
      token: h.secrets.responder,
      body: { text: 'x', deadEnd: 'yes' },
    });
    expect(bad.status).toBe(400);
    expect(errorOf(bad)).toMatchObject({
      code: 'INVALID_REQUEST',
      details: { issues: [{ field: 'body.deadEnd' }] },
    });
    expect(errorOf(bad).message).toMatch(/^body\.deadEnd: /);

    const empty = await h.call('POST', `/api/v1/incidents/${id}/notes`, {
      token: h.secrets.responder,
      body: { text: '   ' },
    });
    expect(empty.status).toBe(400);
    expect(errorOf(empty).message).toMatch(/^body\.text: /);

    const notJson = await h.call('POST', `/api/v1/incidents/${id}/notes`, {
      token: h.secrets.responder,
      raw: '{"text": ',
    });
    expect(notJson.status).toBe(400);
    expect(errorOf(notJson).code).toBe('INVALID_JSON');

    const badQuery = await h.call('GET', '/api/v1/incidents?state=sleeping', { token: h.secrets.viewer });
    expect(badQuery.status).toBe(400);
    expect(errorOf(badQuery).message).toMatch(/^query\.state: /);

    const notes = incidentDetailSchema
      .parse((await h.call('GET', `/api/v1/incidents/${id}`, { token: h.secrets.viewer })).body)
      .timeline.filter((e) => e.kind === 'note');
    expect(notes.map((n) => n.text)).toEqual(['Optimized the slow queries: no change']);
  });

  it('refuses a viewer changing state (403) and leaves the incident untouched', async () => {
    const h = await createApiHarness();
    const id = await openIncident(h);
    const before = (await h.call('GET', `/api/v1/incidents/${id}`, { token: h.secrets.viewer })).body;
    for (const path of [
      `/api/v1/incidents/${id}/acknowledge`,
      `/api/v1/incidents/${id}/resolve`,
      `/api/v1/incidents/${id}/notes`,
    ]) {
      const reply = await h.call('POST', path, { token: h.secrets.viewer, body: { text: 'sneaky' } });
      expect(reply.status, path).toBe(403);
      expect(errorOf(reply)).toMatchObject({
        code: 'FORBIDDEN',
        details: { role: 'viewer', required: 'responder' },
      });
    }
    expect((await h.call('GET', `/api/v1/incidents/${id}`, { token: h.secrets.viewer })).body).toEqual(
      before,
    );
  });
});
