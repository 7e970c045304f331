import type { ServiceView } from '../../app/catalog-service.js';
import type { InboundAlert } from '../../core/alert.js';
import type { AppEvent } from '../../core/app-signal.js';
import type { IntegrationType } from '../../core/catalog.js';

/** What the inbound integrations need of the use cases. */
export interface InboundAlertReceiver {
  receive(
    alerts: readonly InboundAlert[],
    actor: string,
  ): Promise<
    readonly {
      readonly alertId: string | null;
      readonly incidentId: string | null;
      readonly dedupKey: string;
    }[]
  >;
}

export interface IntegrationLookup {
  findIntegration(type: IntegrationType, secret: string): Promise<ServiceView | null>;
}

/** What app signals (`POST /api/v1/events`, OTLP `/v1/traces`) need of the use cases. */
export interface AppEventReceiver {
  /**
   * Folds the events into the stored rollups (committed before it resolves). `dropped`: events the
   * sender had to drop from its buffer (counted in metrics).
   */
  ingestEvents(events: readonly AppEvent[], receivedAt: number, dropped?: number): Promise<void>;
}
