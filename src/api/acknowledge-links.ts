import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AcknowledgeLinks } from '../core/paging-records.js';

/** A link is good for this long by default: a page is acted on within hours, or not by this link. */
export const DEFAULT_LINK_VALIDITY_MS = 4 * 3_600_000;

export interface SignedAcknowledgeLinks extends AcknowledgeLinks {
  check(
    incidentId: string,
    link: { readonly exp: number; readonly sig: string },
    now: number,
  ): 'valid' | 'expired' | 'invalid';
}

/**
 * One-click acknowledge links: `${baseUrl}/api/v1/incidents/ID/acknowledge-link?exp=MS&sig=…`, the
 * signature an HMAC-SHA256 (key from the store, shared by replicas) over the incident id and the
 * expiry, so a link acknowledges only its incident and only until it expires.
 */
export function signedAcknowledgeLinks(options: {
  key: string;
  baseUrl: string;
  validMs?: number;
}): SignedAcknowledgeLinks {
  const validMs = options.validMs ?? DEFAULT_LINK_VALIDITY_MS;
  const base = options.baseUrl.replace(/\/+$/, '');
  const sign = (incidentId: string, exp: number): string =>
    createHmac('sha256', options.key).update(`acknowledge\n${incidentId}\n${exp}`).digest('base64url');
  return {
    link: (incidentId, now) => {
      const expiresAt = now + validMs;
      return {
        url: `${base}/api/v1/incidents/${encodeURIComponent(incidentId)}/acknowledge-link?exp=${expiresAt}&sig=${sign(incidentId, expiresAt)}`,
        expiresAt,
      };
    },
    check: (incidentId, link, now) => {
      const expected = Buffer.from(sign(incidentId, link.exp));
      const given = Buffer.from(link.sig);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
      return now > link.exp ? 'expired' : 'valid';
    },
  };
}
