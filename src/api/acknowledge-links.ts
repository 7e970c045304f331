import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AcknowledgeLinks } from '../core/paging-records.js';

/** A link is good for this long by default: a page is acted on within hours, or not by this link. */
export const DEFAULT_LINK_VALIDITY_MS = 4 * 3_600_000;
/** A page's link to its incident is read for longer: the postmortem is written days later. */
export const DEFAULT_VIEW_VALIDITY_MS = 14 * 24 * 3_600_000;

type LinkVerdict = 'valid' | 'expired' | 'invalid';
type SignedLink = { readonly exp: number; readonly sig: string };

export interface SignedAcknowledgeLinks extends AcknowledgeLinks {
  check(incidentId: string, link: SignedLink, now: number): LinkVerdict;
  checkView(incidentId: string, link: SignedLink, now: number): LinkVerdict;
}

/**
 * One-click acknowledge links: `${baseUrl}/api/v1/incidents/ID/acknowledge-link?exp=MS&sig=…`, the
 * signature an HMAC-SHA256 (key from the store, shared by replicas) over the purpose, the incident
 * id and the expiry, so a link acknowledges only its incident and only until it expires. View links
 * (`${baseUrl}/incidents/ID?exp=MS&sig=…`, the incident's page a notification links to) are signed
 * for their own purpose: one never passes for the other.
 */
export function signedAcknowledgeLinks(options: {
  key: string;
  baseUrl: string;
  validMs?: number;
  viewMs?: number;
}): SignedAcknowledgeLinks {
  const validMs = options.validMs ?? DEFAULT_LINK_VALIDITY_MS;
  const base = options.baseUrl.replace(/\/+$/, '');
  const viewMs = options.viewMs ?? DEFAULT_VIEW_VALIDITY_MS;
  const signFor = (purpose: string, incidentId: string, exp: number): string =>
    createHmac('sha256', options.key).update(`${purpose}\n${incidentId}\n${exp}`).digest('base64url');
  const sign = (incidentId: string, exp: number): string => signFor('acknowledge', incidentId, exp);
  const verdict = (expected: string, link: SignedLink, now: number): LinkVerdict => {
    const want = Buffer.from(expected);
    const given = Buffer.from(link.sig);
    if (want.length !== given.length || !timingSafeEqual(want, given)) return 'invalid';
    return now > link.exp ? 'expired' : 'valid';
  };
  return {
    link: (incidentId, now) => {
      const expiresAt = now + validMs;
      return {
        url: `${base}/api/v1/incidents/${encodeURIComponent(incidentId)}/acknowledge-link?exp=${expiresAt}&sig=${sign(incidentId, expiresAt)}`,
        expiresAt,
      };
    },
    check: (incidentId, link, now) => verdict(sign(incidentId, link.exp), link, now),
    view: (incidentId, now) => {
      const expiresAt = now + viewMs;
      return {
        url: `${base}/incidents/${encodeURIComponent(incidentId)}?exp=${expiresAt}&sig=${signFor('view', incidentId, expiresAt)}`,
        expiresAt,
      };
    },
    checkView: (incidentId, link, now) => verdict(signFor('view', incidentId, link.exp), link, now),
  };
}
