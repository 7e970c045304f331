import type {
  Grouping,
  IntegrationType,
  MonitoredTarget,
  RuleOverride,
  Service,
  TargetHealth,
} from '../core/catalog.js';
import { DEFAULT_GROUPING } from '../core/catalog.js';
import { HindsightError, userError } from '../core/errors.js';
import type { IncidentStore } from '../core/incident-store.js';
import { checkChosenSecret, hashSecret } from './token-service.js';
import { redactUrl } from '../core/url-redaction.js';

/** An integration as configuration or the API declares it: the secret in the clear, hashed on save. */
export interface IntegrationInput {
  readonly type: IntegrationType;
  readonly secret: string;
}

export interface ServiceInput {
  readonly name: string;
  readonly grouping?: Grouping;
  /** Absent: keep the integrations the service already has (an update that sends no secrets). */
  readonly integrations?: readonly IntegrationInput[];
  readonly rules?: Readonly<Record<string, RuleOverride>>;
  readonly escalationPolicy?: string | null;
}

/** A service as it is shown: its integrations by type only, never a secret or its hash. */
export interface ServiceView {
  readonly name: string;
  readonly grouping: Grouping;
  readonly integrations: readonly { readonly type: IntegrationType }[];
  readonly rules: Readonly<Record<string, RuleOverride>>;
  readonly escalationPolicy: string | null;
}

export interface TargetInput {
  readonly name: string;
  /** The connection URL; only its redacted form is kept (the agent that watches it holds the secret). */
  readonly url: string;
  readonly service: string;
  readonly log?: string | null;
  readonly rules?: Readonly<Record<string, RuleOverride>>;
}

export interface TargetWithHealth {
  readonly target: MonitoredTarget;
  /** What its agent last reported; null before any report. */
  readonly health: TargetHealth | null;
}

const notFound = (code: string, message: string): HindsightError =>
  new HindsightError({ code, kind: 'user', message });

const viewService = (service: Service): ServiceView => ({
  name: service.name,
  grouping: service.grouping,
  integrations: service.integrations.map((integration) => ({ type: integration.type })),
  rules: service.rules,
  escalationPolicy: service.escalationPolicy,
});

const CATALOG_LOCK = 'catalog';

/**
 * Services and targets: what configuration declares at start and the API changes later — the same
 * objects. Integration secrets are hashed on save; target URLs are kept redacted.
 */
export class CatalogService {
  readonly #store: IncidentStore;

  constructor(deps: { store: IncidentStore }) {
    this.#store = deps.store;
  }

  /** Creates or replaces a service (by name). */
  async saveService(input: ServiceInput): Promise<ServiceView> {
    for (const integration of input.integrations ?? []) {
      checkChosenSecret(integration.secret, `the ${integration.type} secret of service "${input.name}"`);
    }
    return this.#store.transact(CATALOG_LOCK, async (tx) => {
      const existing = await tx.services.get(input.name);
      const integrations =
        input.integrations === undefined
          ? (existing?.integrations ?? [])
          : input.integrations.map((integration) => ({
              type: integration.type,
              secretHash: hashSecret(integration.secret),
            }));
      if (new Set(integrations.map((integration) => integration.secretHash)).size < integrations.length) {
        throw userError(
          'INTEGRATION_SECRET_IN_USE',
          `two integrations of service "${input.name}" share a secret; give each integration its own secret`,
        );
      }
      for (const integration of integrations) {
        const owner = await tx.services.findByIntegrationSecret(integration.secretHash);
        if (owner !== null && owner.service.name !== input.name) {
          throw userError(
            'INTEGRATION_SECRET_IN_USE',
            `an integration secret of service "${input.name}" is already used by service "${owner.service.name}"; give each integration its own secret`,
          );
        }
      }
      const service: Service = {
        name: input.name,
        grouping: input.grouping ?? existing?.grouping ?? DEFAULT_GROUPING,
        integrations,
        rules: input.rules ?? existing?.rules ?? {},
        escalationPolicy:
          input.escalationPolicy !== undefined
            ? input.escalationPolicy
            : (existing?.escalationPolicy ?? null),
      };
      await tx.services.save(service);
      return viewService(service);
    });
  }

  async getService(name: string): Promise<ServiceView> {
    const service = await this.#store.services.get(name);
    if (service === null)
      throw notFound('SERVICE_NOT_FOUND', `no service named "${name}"; list them with GET /api/v1/services`);
    return viewService(service);
  }

  async listServices(): Promise<ServiceView[]> {
    return (await this.#store.services.list()).map(viewService);
  }

  /** Deletes a service that no target belongs to any more. */
  async deleteService(name: string): Promise<void> {
    await this.#store.transact(CATALOG_LOCK, async (tx) => {
      const targets = (await tx.targets.list())
        .filter((target) => target.service === name)
        .map((target) => target.name);
      if (targets.length > 0) {
        throw new HindsightError({
          code: 'SERVICE_CONFLICT',
          kind: 'user',
          message: `service "${name}" still has targets ${targets.join(', ')}; delete them or move them to another service first`,
        });
      }
      if (!(await tx.services.delete(name))) {
        throw notFound(
          'SERVICE_NOT_FOUND',
          `no service named "${name}"; list them with GET /api/v1/services`,
        );
      }
    });
  }

  /** Creates or replaces a target (by name); its service must exist. */
  async saveTarget(input: TargetInput): Promise<MonitoredTarget> {
    return this.#store.transact(CATALOG_LOCK, async (tx) => {
      if ((await tx.services.get(input.service)) === null) {
        throw userError(
          'TARGET_SERVICE_UNKNOWN',
          `target "${input.name}" names service "${input.service}", which does not exist; create the service first`,
        );
      }
      const existing = await tx.targets.get(input.name);
      const target: MonitoredTarget = {
        name: input.name,
        redactedUrl: redactUrl(input.url),
        service: input.service,
        log: input.log !== undefined ? input.log : (existing?.log ?? null),
        rules: input.rules ?? existing?.rules ?? {},
      };
      await tx.targets.save(target);
      return target;
    });
  }

  async getTarget(name: string): Promise<TargetWithHealth> {
    const target = await this.#store.targets.get(name);
    if (target === null)
      throw notFound('TARGET_NOT_FOUND', `no target named "${name}"; list them with GET /api/v1/targets`);
    const health = (await this.#store.targets.health()).find((entry) => entry.target === name) ?? null;
    return { target, health };
  }

  /** Every target with the health its agent last reported, by name. */
  async listTargets(): Promise<TargetWithHealth[]> {
    const [targets, health] = await Promise.all([this.#store.targets.list(), this.#store.targets.health()]);
    const byTarget = new Map(health.map((entry) => [entry.target, entry]));
    return targets.map((target) => ({ target, health: byTarget.get(target.name) ?? null }));
  }

  async deleteTarget(name: string): Promise<void> {
    if (!(await this.#store.targets.delete(name))) {
      throw notFound('TARGET_NOT_FOUND', `no target named "${name}"; list them with GET /api/v1/targets`);
    }
  }

  /** Upserts the health agents report (the agent push, and serve's own agents). */
  async reportHealth(health: readonly TargetHealth[]): Promise<void> {
    for (const entry of health) await this.#store.targets.reportHealth(entry);
  }

  /** The service whose integration of `type` has this secret, or null (unknown secret or another type). */
  async findIntegration(type: IntegrationType, secret: string): Promise<ServiceView | null> {
    if (secret.length === 0) return null;
    const found = await this.#store.services.findByIntegrationSecret(hashSecret(secret));
    return found?.type === type ? viewService(found.service) : null;
  }
}
