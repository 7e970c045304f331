import type { Incident, TimelineEntry } from '../src/core/incident.js';

/** `GET /api/v1/incidents/:id` as the demo reads it (the fields of issue 10 may be absent in a build without them). */
export interface IncidentDetail {
  readonly incident: Incident & Partial<IncidentInsight>;
  readonly timeline: readonly TimelineEntry[];
  readonly alerts: readonly {
    readonly rule: string | null;
    readonly status: string;
    readonly summary: string;
    readonly target: string | null;
  }[];
  readonly evidence: readonly unknown[];
  readonly impact?: IncidentInsight['impact'];
  readonly attribution?: IncidentInsight['attribution'];
  readonly onsetDeploy?: IncidentInsight['onsetDeploy'];
}

/** What issue 10 adds to an incident: who was hit, by what, since which deploy. */
export interface IncidentInsight {
  readonly impact: {
    readonly affectedUsers: number;
    readonly activeUsers: number;
    readonly share: number;
    readonly windowMs: number;
  } | null;
  readonly attribution: readonly {
    readonly route: string;
    readonly sqlstate: string | null;
    readonly callSite: string | null;
    readonly query: string | null;
    readonly share: number;
    readonly failures: number;
  }[];
  readonly onsetDeploy: {
    readonly version: string;
    readonly at: number;
    readonly minutesBeforeOnset: number;
  } | null;
}

/** The insight fields wherever this build puts them (beside `incident` or inside it). */
export const insightOf = (
  detail: IncidentDetail,
): { [K in keyof IncidentInsight]: IncidentInsight[K] | undefined } => ({
  impact: detail.impact ?? detail.incident.impact,
  attribution: detail.attribution ?? detail.incident.attribution,
  onsetDeploy: detail.onsetDeploy ?? detail.incident.onsetDeploy,
});

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The few calls of Hindsight's HTTP API the demo makes, as `hindsight incident …` and `hindsight deploy` would. */
export class HindsightClient {
  readonly baseUrl: string;
  readonly token: string;
  constructor(baseUrl: string, token: string) {
    this.baseUrl = baseUrl;
    this.token = token;
  }

  async incidents(service: string): Promise<readonly Incident[]> {
    const body = await this.#call<{ incidents: Incident[] }>(
      'GET',
      `/api/v1/incidents?state=all&service=${encodeURIComponent(service)}`,
    );
    return body.incidents;
  }

  detail(id: string): Promise<IncidentDetail> {
    return this.#call('GET', `/api/v1/incidents/${encodeURIComponent(id)}`);
  }

  note(id: string, text: string, deadEnd: boolean, token = this.token): Promise<TimelineEntry> {
    return this.#call('POST', `/api/v1/incidents/${encodeURIComponent(id)}/notes`, { text, deadEnd }, token);
  }

  /** `hindsight deploy VERSION --service S --commit SHA`. */
  deploy(deploy: { service: string; version: string; commit: string | null }): Promise<unknown> {
    return this.#call('POST', '/api/v1/deploys', deploy);
  }

  async #call<T>(method: string, path: string, body?: unknown, token = this.token): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok)
      throw new ApiError(response.status, `${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }
}
