import type { Deploy } from '../core/app-signal.js';
import type { IncidentStore } from '../core/incident-store.js';
import { OPEN_STATES, type TimelineEntry } from '../core/incident.js';
import type { Clock, IdSource } from '../core/ports.js';

export interface DeployServiceDeps {
  readonly store: IncidentStore;
  readonly clock: Clock;
  readonly ids: IdSource;
}

export interface DeployInput {
  readonly service: string;
  readonly version: string;
  readonly commit: string | null;
  /** When it went out; default now. */
  readonly at?: number;
}

/**
 * Deploy markers (`hindsight deploy`, `POST /api/v1/deploys`): a deploy is recorded, and each open
 * incident of its service gets a `deploy` line on its timeline in the same transaction — a deploy
 * during an incident (a rollback, a fix) is part of its story.
 */
export class DeployService {
  readonly #store: IncidentStore;
  readonly #clock: Clock;
  readonly #ids: IdSource;

  constructor(deps: DeployServiceDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
  }

  /** `by`: the name of the token that recorded it. Returns the deploy and the incidents it was noted on. */
  async record(
    input: DeployInput,
    by: string,
  ): Promise<{ readonly deploy: Deploy; readonly incidentIds: readonly string[] }> {
    const now = this.#clock.now();
    const deploy: Deploy = {
      id: this.#ids.next('deploy'),
      service: input.service,
      version: input.version,
      commit: input.commit,
      at: input.at ?? now,
      actor: by,
    };
    return this.#store.transact(`deploys:${input.service}`, async (tx) => {
      await tx.deploys.insert(deploy);
      const open = await tx.incidents.list({ states: OPEN_STATES, service: input.service, limit: 1000 });
      const commit = deploy.commit === null ? '' : ` (${deploy.commit.slice(0, 12)})`;
      const entries = open.map((incident): TimelineEntry => ({
        id: this.#ids.next('timeline'),
        incidentId: incident.id,
        at: now,
        actor: `token:${by}`,
        kind: 'deploy',
        text: `deploy ${deploy.version}${commit} of ${deploy.service}`,
        deadEnd: false,
        alertId: null,
        data: { deployId: deploy.id, version: deploy.version, commit: deploy.commit, deployedAt: deploy.at },
      }));
      if (entries.length > 0) await tx.timeline.appendMany(entries);
      return { deploy, incidentIds: open.map((i) => i.id) };
    });
  }

  list(query: {
    readonly service?: string;
    readonly since?: number;
    readonly limit?: number;
  }): Promise<Deploy[]> {
    return this.#store.deploys.list(query);
  }
}
