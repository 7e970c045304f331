import type { ServiceView } from '../../app/catalog-service.js';
import type { InboundAlert } from '../../core/alert.js';
import type { IntegrationType } from '../../core/catalog.js';

/** What the inbound integrations need of the use cases. */
export interface InboundAlertReceiver {
  receive(alerts: readonly InboundAlert[], actor: string): Promise<readonly { readonly alertId: string | null; readonly incidentId: string | null; readonly dedupKey: string }[]>;
}

export interface IntegrationLookup {
  findIntegration(type: IntegrationType, secret: string): Promise<ServiceView | null>;
}
