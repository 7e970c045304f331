import type { Alert, AlertStatus } from '../core/alert.js';
import { userError } from '../core/errors.js';
import type { IncidentStore } from '../core/incident-store.js';

export const ALERT_NOT_FOUND = 'ALERT_NOT_FOUND';

/** Alerts as the API and metrics read them. */
export class AlertQueries {
  readonly #store: IncidentStore;

  constructor(deps: { store: IncidentStore }) {
    this.#store = deps.store;
  }

  /** Newest first; `limit` defaults to 100, at most 1000. */
  list(
    query: {
      readonly status?: AlertStatus;
      readonly service?: string;
      readonly incidentId?: string;
      readonly limit?: number;
    } = {},
  ): Promise<Alert[]> {
    return this.#store.alerts.list(query);
  }

  async get(id: string): Promise<Alert> {
    const alert = await this.#store.alerts.get(id);
    if (alert === null)
      throw userError(ALERT_NOT_FOUND, `no alert ${id}; list alerts with GET /api/v1/alerts`);
    return alert;
  }

  /** For `/metrics`: alerts firing and resolved. */
  countByStatus(): Promise<Readonly<Record<AlertStatus, number>>> {
    return this.#store.alerts.countByStatus();
  }
}
