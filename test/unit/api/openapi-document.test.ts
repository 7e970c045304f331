import { describe, expect, it } from 'vitest';
import { createApiHarness } from '../../support/api-harness.js';

interface Operation {
  security: unknown[];
  parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, unknown>;
  'x-hindsight-access': string;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

describe('GET /api/v1/openapi.json', () => {
  it('lists every route the app serves, with its method, and nothing else', async () => {
    const h = await createApiHarness();
    const reply = await h.call('GET', '/api/v1/openapi.json', { token: h.secrets.viewer });
    expect(reply.status).toBe(200);
    const doc = reply.body as Document;
    expect(doc.openapi).toBe('3.1.0');
    const served = new Set(
      h.app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method} ${path}`),
      ),
    );
    expect(documented).toEqual(served);
    expect(served.size).toBeGreaterThanOrEqual(28);
    for (const route of [
      'post /api/v1/incidents/{id}/acknowledge',
      'post /api/v1/ingest/findings',
      'post /v2/enqueue',
      'post /api/v1/integrations/alertmanager',
      'get /metrics',
    ]) {
      expect(served, route).toContain(route);
    }
  });

  it('describes input with the schemas the routes validate with, and who may call each route', async () => {
    const h = await createApiHarness();
    const doc = (await h.call('GET', '/api/v1/openapi.json', { token: h.secrets.viewer })).body as Document;
    const list = doc.paths['/api/v1/incidents']!['get']!;
    const state = list.parameters.find((p) => p.name === 'state')!;
    expect(state).toMatchObject({
      in: 'query',
      required: false,
      schema: { enum: ['open', 'resolved', 'all'], default: 'open' },
    });
    expect(list['x-hindsight-access']).toBe('viewer');
    expect(list.security).toEqual([{ bearerToken: [] }]);

    const note = doc.paths['/api/v1/incidents/{id}/notes']!['post']!;
    expect(note.parameters).toContainEqual(
      expect.objectContaining({ name: 'id', in: 'path', required: true }),
    );
    const noteBody = note.requestBody!.content['application/json']!.schema;
    expect(noteBody).toMatchObject({
      type: 'object',
      required: ['text'],
      properties: { text: { type: 'string' }, deadEnd: { type: 'boolean' } },
    });
    expect(Object.keys(note.responses).sort()).toEqual(['201', '400', '401', '403', '404', '413']);

    const ingest = doc.paths['/api/v1/ingest/findings']!['post']!;
    const findings = (
      ingest.requestBody!.content['application/json']!.schema['properties'] as Record<
        string,
        Record<string, unknown>
      >
    )['findings']!;
    expect(JSON.stringify(findings)).toContain('"blocking_episode"');
    expect(ingest['x-hindsight-access']).toBe('ingest');

    expect(doc.paths['/healthz']!['get']!.security).toEqual([]);
    expect(doc.paths['/v2/enqueue']!['post']!.security).toEqual([]);
    expect(doc.paths['/api/v1/integrations/alertmanager']!['post']!.security).toEqual([
      { integrationSecret: [] },
    ]);
    expect(doc.paths['/api/v1/tokens']!['post']!['x-hindsight-access']).toBe('admin');
  });
});
