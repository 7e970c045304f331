import { incidentPage } from '../incident-page.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import { checkLinkVerdict, signedLinkQuerySchema } from '../schemas/link-schemas.js';
import { idParamsSchema } from '../schemas/incident-schemas.js';
import type { IncidentUseCases } from './incident-routes.js';
import type { PagingUseCases } from './paging-use-cases.js';

/**
 * `GET /incidents/:id?exp&sig`: the page a notification's "open incident" link leads to. The link
 * is signed for viewing that one incident (no token: a phone in the night has none); a triggered
 * incident's page also offers a freshly signed acknowledge button.
 */
export const incidentPageRoutes = (
  incidents: Pick<IncidentUseCases, 'detail'>,
  paging: PagingUseCases,
  now: () => number,
): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/incidents/:id',
    summary: "An incident's page, read through the signed link its notifications carry",
    tag: 'incidents',
    access: 'public',
    params: idParamsSchema,
    query: signedLinkQuerySchema,
    responses: {
      200: { description: 'The incident as a page', contentType: 'text/html' },
      403: { description: 'Expired or not signed by us', schema: errorBodySchema },
      404: { description: 'No such incident', schema: errorBodySchema },
    },
    handle: async ({ params, query }, c) => {
      const at = now();
      checkLinkVerdict(
        paging.checkViewLink(params.id, query, at),
        'incident',
        `read it with \`hindsight incident show ${params.id}\``,
      );
      const detail = await incidents.detail(params.id);
      const acknowledgeUrl =
        detail.incident.state === 'triggered' ? paging.acknowledgeUrl(params.id, at) : null;
      c.header('Cache-Control', 'no-store');
      return c.html(incidentPage(detail, { now: at, acknowledgeUrl }));
    },
  }),
];
