import type { ChannelTestResult, OnCallReport } from '../../app/paging-queries.js';
import type { Actor } from '../../core/incident.js';

/** What the API needs of paging (app/'s PagingQueries and EscalationCycle). */
export interface PagingUseCases {
  onCall(at: number): Promise<OnCallReport>;
  testChannel(name: string, requestedBy: string | null, now: number): Promise<ChannelTestResult>;
  escalateNow(
    incidentId: string,
    actor: Actor,
    now: number,
  ): Promise<{ readonly steps: number; readonly enqueued: number }>;
  /** Is this a link we signed for this incident, still valid at `now`? */
  checkAcknowledgeLink(
    incidentId: string,
    link: { readonly exp: number; readonly sig: string },
    now: number,
  ): 'valid' | 'expired' | 'invalid';
  /** Is this a view link we signed for this incident (its page), still valid at `now`? */
  checkViewLink(
    incidentId: string,
    link: { readonly exp: number; readonly sig: string },
    now: number,
  ): 'valid' | 'expired' | 'invalid';
  /** A freshly signed acknowledge link (its POST acknowledges). */
  acknowledgeUrl(incidentId: string, now: number): string;
  /** Acknowledges through a checked link (actor `link`). */
  acknowledgeByLink(incidentId: string): Promise<unknown>;
}
