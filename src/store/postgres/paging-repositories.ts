import { sql, type Kysely, type Selectable } from 'kysely';
import type { EscalationState } from '../../core/escalation.js';
import type { Notification } from '../../core/notification.js';
import type {
  EscalationRecord,
  EscalationRepository,
  OutboxMessage,
  OutboxRepository,
  OutboxState,
  PagingDirectory,
  PagingDirectoryRepository,
} from '../../core/paging-records.js';
import { EMPTY_DIRECTORY } from '../../core/paging-records.js';
import { listLimit } from '../list-limit.js';
import type { OutboxTable, StoreDatabase } from './store-database.js';

/** Paging's repositories on PostgreSQL (migration 0002-paging). */

export function postgresPaging(db: Kysely<StoreDatabase>): PagingDirectoryRepository {
  return {
    async save(directory, at) {
      await db
        .insertInto('paging_directory')
        .values({ id: 'current', document: JSON.stringify(directory), updated_at: at })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            document: eb.ref('excluded.document'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    },
    async get() {
      const row = await db
        .selectFrom('paging_directory')
        .select('document')
        .where('id', '=', 'current')
        .executeTakeFirst();
      return row === undefined ? EMPTY_DIRECTORY : (row.document as PagingDirectory);
    },
    async signingKey(candidate) {
      // The first writer wins; everyone reads what won.
      await db
        .insertInto('paging_directory')
        .values({ id: 'acknowledge-key', document: JSON.stringify(candidate), updated_at: 0 })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      const row = await db
        .selectFrom('paging_directory')
        .select('document')
        .where('id', '=', 'acknowledge-key')
        .executeTakeFirstOrThrow();
      return row.document as string;
    },
  };
}

export function postgresEscalations(db: Kysely<StoreDatabase>): EscalationRepository {
  const select = () =>
    db.selectFrom('escalation_states').select(['incident_id', 'policy', 'state', 'wake_at', 'updated_at']);
  const toRecord = (r: {
    incident_id: string;
    policy: string;
    state: unknown;
    wake_at: number | null;
    updated_at: number;
  }): EscalationRecord => ({
    incidentId: r.incident_id,
    policy: r.policy,
    state: r.state as EscalationState,
    wakeAt: r.wake_at,
    updatedAt: r.updated_at,
  });
  return {
    async get(incidentId) {
      const row = await select().where('incident_id', '=', incidentId).executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },
    async save(record) {
      await db
        .insertInto('escalation_states')
        .values({
          incident_id: record.incidentId,
          policy: record.policy,
          kind: record.state.kind,
          state: JSON.stringify(record.state),
          wake_at: record.wakeAt,
          updated_at: record.updatedAt,
        })
        .onConflict((oc) =>
          oc.column('incident_id').doUpdateSet((eb) => ({
            policy: eb.ref('excluded.policy'),
            kind: eb.ref('excluded.kind'),
            state: eb.ref('excluded.state'),
            wake_at: eb.ref('excluded.wake_at'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    },
    async listActive(limit) {
      const rows = await select()
        .where('kind', '<>', 'stopped')
        .orderBy('incident_id')
        .limit(listLimit(limit))
        .execute();
      return rows.map(toRecord);
    },
  };
}

const toMessage = (r: Selectable<OutboxTable>): OutboxMessage => ({
  id: r.id,
  idempotencyKey: r.idempotency_key,
  incidentId: r.incident_id,
  channel: r.channel,
  notification: r.notification as Notification,
  state: r.state as OutboxState,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  claimedAt: r.claimed_at,
  sentAt: r.sent_at,
  lastError: r.last_error,
});

const byAge = (a: Selectable<OutboxTable>, b: Selectable<OutboxTable>): number =>
  a.created_at - b.created_at || a.seq - b.seq;

export function postgresOutbox(db: Kysely<StoreDatabase>): OutboxRepository {
  return {
    async enqueue(messages) {
      if (messages.length === 0) return [];
      const rows = await db
        .insertInto('outbox')
        .values(
          messages.map((m) => ({
            id: m.id,
            idempotency_key: m.idempotencyKey,
            incident_id: m.incidentId,
            channel: m.channel,
            notification: JSON.stringify(m.notification),
            state: m.state,
            attempts: m.attempts,
            next_attempt_at: m.nextAttemptAt,
            created_at: m.createdAt,
            updated_at: m.updatedAt,
            claimed_at: m.claimedAt,
            sent_at: m.sentAt,
            last_error: m.lastError,
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .execute();
      const inserted = new Set(rows.map((r) => r.id));
      return messages.filter((m) => inserted.has(m.id));
    },
    async claim({ now, limit }) {
      if (limit <= 0) return [];
      // One statement: rows another replica is claiming are skipped, never claimed twice.
      const result = await sql<Selectable<OutboxTable>>`
        UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_at = ${now}, updated_at = ${now}
        WHERE seq IN (
          SELECT seq FROM outbox
          WHERE state = 'pending' AND next_attempt_at <= ${now}
          ORDER BY created_at, seq
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED
        )
        RETURNING *`.execute(db);
      // RETURNING has no order: oldest first, as claimed.
      return result.rows.sort(byAge).map(toMessage);
    },
    async finish(id, update) {
      const result = await db
        .updateTable('outbox')
        .set((eb) => ({
          state: update.state,
          updated_at: update.at,
          ...(update.nextAttemptAt === undefined ? {} : { next_attempt_at: update.nextAttemptAt }),
          ...(update.sentAt === undefined ? {} : { sent_at: update.sentAt }),
          ...(update.lastError === undefined ? {} : { last_error: update.lastError }),
          ...(update.release === true ? { attempts: eb('attempts', '-', 1) } : {}),
        }))
        .where('id', '=', id)
        .where('state', '=', 'sending')
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async abandon({ claimedBefore, at }) {
      const rows = await db
        .updateTable('outbox')
        .set({
          state: 'unknown',
          updated_at: at,
          last_error:
            'the sender stopped mid-send (crash or restart): it may have been delivered, so it is not sent again',
        })
        .where('state', '=', 'sending')
        .where('claimed_at', '<', claimedBefore)
        .returningAll()
        .execute();
      return rows.sort(byAge).map(toMessage);
    },
    async list({ incidentId, states, limit }) {
      let query = db.selectFrom('outbox').selectAll();
      if (incidentId !== undefined) query = query.where('incident_id', '=', incidentId);
      if (states !== undefined) {
        if (states.length === 0) return [];
        query = query.where('state', 'in', states);
      }
      const rows = await query.orderBy('created_at').orderBy('seq').limit(listLimit(limit)).execute();
      return rows.map(toMessage);
    },
    async countByState() {
      const rows = await db
        .selectFrom('outbox')
        .select(['state', db.fn.countAll<number>().as('count')])
        .groupBy('state')
        .execute();
      const counts: Record<OutboxState, number> = { pending: 0, sending: 0, sent: 0, failed: 0, unknown: 0 };
      for (const r of rows) counts[r.state as OutboxState] = r.count;
      return counts;
    },
  };
}
