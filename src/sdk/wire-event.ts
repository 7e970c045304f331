import type { QueryFailure, RequestOutcome } from '../core/app-signal.js';

/**
 * An event as the SDK sends it in `POST /api/v1/events`: an AppEvent without `service` (the batch
 * names the service once; the server adds it to each event).
 */
export type WireRequestEvent = Omit<RequestOutcome, 'service'>;
export type WireQueryFailureEvent = Omit<QueryFailure, 'service'>;
export type WireEvent = WireRequestEvent | WireQueryFailureEvent;

/** The body of `POST /api/v1/events`. */
export interface WireBatch {
  readonly service: string;
  readonly sdk: string;
  /** Events this process dropped (buffer full) since its last delivered batch. */
  readonly dropped: number;
  readonly events: readonly WireEvent[];
}

export const SDK_NAME = 'hindsight-node/0.1.0';
export const EVENTS_PATH = '/api/v1/events';
