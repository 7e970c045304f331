import { sql, type Kysely } from 'kysely';
import type { ApiToken, MonitoredTarget, Role, Service, TargetHealth } from '../../core/catalog.js';
import type { RulePhase, RuleState } from '../../core/rule-state.js';
import type {
  RuleStateRepository,
  ServiceRepository,
  TargetRepository,
  TokenRepository,
} from '../../core/incident-store.js';
import type { StoreDatabase } from './store-database.js';
import { conflictOn } from './unique-violation.js';

const SAVE_BATCH = 5_000;

const toRow = (state: RuleState) => ({
  key: state.key,
  rule: state.rule,
  target: state.target,
  service: state.service,
  phase: state.phase,
  since: state.since,
  value: state.value,
  alert_id: state.alertId,
  evaluated_at: state.evaluatedAt,
});

export function postgresRuleStates(db: Kysely<StoreDatabase>): RuleStateRepository {
  const select = () =>
    db
      .selectFrom('rule_states')
      .select([
        'key',
        'rule',
        'target',
        'service',
        'phase',
        'since',
        'value',
        'alert_id as alertId',
        'evaluated_at as evaluatedAt',
      ]);
  const toState = (
    r: Awaited<ReturnType<ReturnType<typeof select>['executeTakeFirstOrThrow']>>,
  ): RuleState => ({
    ...r,
    phase: r.phase as RulePhase,
  });
  const saveMany = async (states: readonly RuleState[]): Promise<void> => {
    // One INSERT … ON CONFLICT may not touch a row twice: the last state of a key wins.
    const rows = [...new Map(states.map((s) => [s.key, toRow(s)])).values()];
    // 9 parameters a row: 5,000 rows stay below PostgreSQL's 65,535 per statement.
    for (let start = 0; start < rows.length; start += SAVE_BATCH) {
      await db
        .insertInto('rule_states')
        .values(rows.slice(start, start + SAVE_BATCH))
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => ({
            rule: eb.ref('excluded.rule'),
            target: eb.ref('excluded.target'),
            service: eb.ref('excluded.service'),
            phase: eb.ref('excluded.phase'),
            since: eb.ref('excluded.since'),
            value: eb.ref('excluded.value'),
            alert_id: eb.ref('excluded.alert_id'),
            evaluated_at: eb.ref('excluded.evaluated_at'),
          })),
        )
        .execute();
    }
  };
  return {
    async get(key) {
      const row = await select().where('key', '=', key).executeTakeFirst();
      return row ? toState(row) : null;
    },
    async list() {
      return (await select().orderBy('key').execute()).map(toState);
    },
    save: (state) => saveMany([state]),
    saveMany,
  };
}

export function postgresServices(db: Kysely<StoreDatabase>): ServiceRepository {
  return {
    async save(service) {
      const definition = JSON.stringify(service);
      await db
        .insertInto('services')
        .values({ name: service.name, definition })
        .onConflict((oc) => oc.column('name').doUpdateSet({ definition }))
        .execute();
    },
    async get(name) {
      const row = await db
        .selectFrom('services')
        .select('definition')
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? (row.definition as Service) : null;
    },
    async list() {
      const rows = await db.selectFrom('services').select('definition').orderBy('name').execute();
      return rows.map((r) => r.definition as Service);
    },
    async delete(name) {
      const result = await db.deleteFrom('services').where('name', '=', name).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
    async findByIntegrationSecret(secretHash) {
      // Uses the GIN index on definition->'integrations' (jsonb_path_ops).
      const row = await db
        .selectFrom('services')
        .select('definition')
        .where(sql<boolean>`definition -> 'integrations' @> ${JSON.stringify([{ secretHash }])}::jsonb`)
        .orderBy('name')
        .executeTakeFirst();
      if (!row) return null;
      const service = row.definition as Service;
      const integration = service.integrations.find((i) => i.secretHash === secretHash);
      return integration ? { service, type: integration.type } : null;
    },
  };
}

export function postgresTargets(db: Kysely<StoreDatabase>): TargetRepository {
  return {
    async save(target) {
      const definition = JSON.stringify(target);
      await db
        .insertInto('targets')
        .values({ name: target.name, service: target.service, definition })
        .onConflict((oc) => oc.column('name').doUpdateSet({ service: target.service, definition }))
        .execute();
    },
    async get(name) {
      const row = await db
        .selectFrom('targets')
        .select('definition')
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? (row.definition as MonitoredTarget) : null;
    },
    async list() {
      const rows = await db.selectFrom('targets').select('definition').orderBy('name').execute();
      return rows.map((r) => r.definition as MonitoredTarget);
    },
    async delete(name) {
      const result = await db.deleteFrom('targets').where('name', '=', name).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
    async reportHealth(health) {
      const row = {
        reachable: health.reachable,
        problem: health.problem,
        last_sample_at: health.lastSampleAt,
        agent: health.agent,
        reported_at: health.reportedAt,
      };
      await db
        .insertInto('target_health')
        .values({ target: health.target, ...row })
        .onConflict((oc) => oc.column('target').doUpdateSet(row))
        .execute();
    },
    async health() {
      const rows = await db.selectFrom('target_health').selectAll().orderBy('target').execute();
      return rows.map((r): TargetHealth => ({
        target: r.target,
        reachable: r.reachable,
        problem: r.problem,
        lastSampleAt: r.last_sample_at,
        agent: r.agent,
        reportedAt: r.reported_at,
      }));
    },
  };
}

export function postgresTokens(db: Kysely<StoreDatabase>): TokenRepository {
  const select = () =>
    db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'secret_hash as secretHash', 'role', 'created_at as createdAt']);
  const toToken = (r: {
    id: string;
    name: string;
    secretHash: string;
    role: string;
    createdAt: number;
  }): ApiToken => ({
    ...r,
    role: r.role as Role,
  });
  return {
    async insert(token) {
      await db
        .insertInto('api_tokens')
        .values({
          id: token.id,
          name: token.name,
          secret_hash: token.secretHash,
          role: token.role,
          created_at: token.createdAt,
        })
        .execute()
        .catch(conflictOn(`token ${token.id} or a token with this secret`));
    },
    async findBySecretHash(secretHash) {
      const row = await select().where('secret_hash', '=', secretHash).executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async list() {
      return (await select().orderBy('created_at').orderBy('id').execute()).map(toToken);
    },
    async delete(id) {
      const result = await db.deleteFrom('api_tokens').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
    async count() {
      const row = await db
        .selectFrom('api_tokens')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return row.n;
    },
  };
}
