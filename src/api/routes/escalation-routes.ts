import { z } from 'zod';
import { actorOf } from '../middleware/auth/bearer-auth.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import { checkLinkVerdict, signedLinkQuerySchema } from '../schemas/link-schemas.js';
import { idParamsSchema } from '../schemas/incident-schemas.js';
import type { PagingUseCases } from './paging-use-cases.js';

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );

const page = (title: string, body: string): string =>
  `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body style="font-family:system-ui;margin:3em auto;max-width:32em">${body}</body></html>`;

const checkLink = (
  paging: PagingUseCases,
  id: string,
  link: { exp: number; sig: string },
  now: number,
): void => {
  checkLinkVerdict(
    paging.checkAcknowledgeLink(id, link, now),
    'acknowledge',
    `acknowledge with \`hindsight incident ack ${id}\``,
  );
};

export const escalationRoutes = (paging: PagingUseCases, now: () => number): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/incidents/:id/acknowledge-link',
    summary:
      'The page a signed acknowledge link opens: a button that acknowledges (a GET changes nothing, so link previews cannot acknowledge)',
    tag: 'incidents',
    access: 'public',
    params: idParamsSchema,
    query: signedLinkQuerySchema,
    responses: {
      200: { description: 'A confirmation page', contentType: 'text/html' },
      403: { description: 'Expired or not signed by us', schema: errorBodySchema },
    },
    handle: ({ params, query }, c) => {
      checkLink(paging, params.id, query, now());
      const action = `?exp=${query.exp}&sig=${encodeURIComponent(query.sig)}`;
      return c.html(
        page(
          'Acknowledge',
          `<p>Incident <code>${escapeHtml(params.id)}</code></p><form method="post" action="${escapeHtml(action)}"><button type="submit">Acknowledge</button></form>`,
        ),
      );
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/incidents/:id/acknowledge-link',
    summary:
      'Acknowledges the incident through a signed, expiring link from a page (no token: the signature is the credential)',
    tag: 'incidents',
    access: 'public',
    params: idParamsSchema,
    query: signedLinkQuerySchema,
    responses: {
      200: { description: 'Acknowledged', contentType: 'text/html' },
      403: { description: 'Expired or not signed by us', schema: errorBodySchema },
      409: { description: 'Not triggered (already acknowledged, resolved…)', schema: errorBodySchema },
    },
    handle: async ({ params, query }, c) => {
      checkLink(paging, params.id, query, now());
      await paging.acknowledgeByLink(params.id);
      return c.html(
        page(
          'Acknowledged',
          `<p>Incident <code>${escapeHtml(params.id)}</code> is acknowledged: paging has stopped.</p>`,
        ),
      );
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/incidents/:id/escalate',
    summary: "Escalates now: takes the next step of the incident's escalation policy at once",
    tag: 'incidents',
    access: 'responder',
    params: idParamsSchema,
    responses: {
      200: {
        description: 'Steps taken and messages written to the outbox',
        schema: z.object({ steps: z.number(), enqueued: z.number() }),
      },
      404: { description: 'No such incident', schema: errorBodySchema },
      409: { description: 'Not open, or its service has no escalation policy', schema: errorBodySchema },
    },
    handle: async ({ params }, c) => c.json(await paging.escalateNow(params.id, actorOf(c.var.token), now())),
  }),
];
