import type {
  EscalationRepository,
  OutboxMessage,
  OutboxRepository,
  OutboxState,
  PagingDirectoryRepository,
} from '../../core/paging-records.js';
import { EMPTY_DIRECTORY } from '../../core/paging-records.js';
import { listLimit } from '../list-limit.js';
import type { StoredOutboxMessage, TableAccess } from './memory-tables.js';

/** Paging's repositories in memory: the same behaviour the contract suite checks on PostgreSQL. */

const out = <T>(value: T): Promise<T> => Promise.resolve(structuredClone(value));
const byAge = (a: StoredOutboxMessage, b: StoredOutboxMessage): number =>
  a.message.createdAt - b.message.createdAt || a.seq - b.seq;

export function memoryPaging(t: TableAccess): PagingDirectoryRepository {
  return {
    save(directory) {
      t.set('paging', 'current', directory);
      return Promise.resolve();
    },
    get() {
      return out(t.get('paging', 'current') ?? EMPTY_DIRECTORY);
    },
    signingKey(candidate) {
      const stored = t.get('signingKeys', 'acknowledge');
      if (stored !== undefined) return out(stored);
      t.set('signingKeys', 'acknowledge', candidate);
      return out(candidate);
    },
  };
}

export function memoryEscalations(t: TableAccess): EscalationRepository {
  return {
    get(incidentId) {
      return out(t.get('escalations', incidentId) ?? null);
    },
    save(record) {
      t.set('escalations', record.incidentId, record);
      return Promise.resolve();
    },
    listActive(limit) {
      const rows = t
        .rows('escalations')
        .filter((r) => r.state.kind !== 'stopped')
        .sort((a, b) => (a.incidentId < b.incidentId ? -1 : a.incidentId > b.incidentId ? 1 : 0));
      return out(rows.slice(0, listLimit(limit)));
    },
  };
}

export function memoryOutbox(t: TableAccess): OutboxRepository {
  const put = (stored: StoredOutboxMessage, message: OutboxMessage): void => {
    t.set('outbox', message.id, { message, seq: stored.seq });
  };
  return {
    enqueue(messages) {
      const keys = new Set(t.rows('outbox').map((r) => r.message.idempotencyKey));
      const inserted: OutboxMessage[] = [];
      for (const message of messages) {
        if (keys.has(message.idempotencyKey) || t.has('outbox', message.id)) continue;
        keys.add(message.idempotencyKey);
        t.set('outbox', message.id, { message, seq: t.nextSeq() });
        inserted.push(message);
      }
      return out(inserted);
    },
    claim({ now, limit }) {
      const due = t
        .rows('outbox')
        .filter((r) => r.message.state === 'pending' && r.message.nextAttemptAt <= now)
        .sort(byAge)
        .slice(0, Math.max(0, limit));
      const claimed = due.map((r) => {
        const message: OutboxMessage = {
          ...r.message,
          state: 'sending',
          attempts: r.message.attempts + 1,
          claimedAt: now,
          updatedAt: now,
        };
        put(r, message);
        return message;
      });
      return out(claimed);
    },
    finish(id, update) {
      const stored = t.get('outbox', id);
      if (stored?.message.state !== 'sending') return out(false);
      put(stored, {
        ...stored.message,
        state: update.state,
        nextAttemptAt: update.nextAttemptAt ?? stored.message.nextAttemptAt,
        sentAt: update.sentAt === undefined ? stored.message.sentAt : update.sentAt,
        lastError: update.lastError === undefined ? stored.message.lastError : update.lastError,
        updatedAt: update.at,
        // A message put back to pending without an attempt made (rate limit) does not count it.
        attempts: update.release === true ? stored.message.attempts - 1 : stored.message.attempts,
      });
      return out(true);
    },
    abandon({ claimedBefore, at }) {
      const stale = t
        .rows('outbox')
        .filter((r) => r.message.state === 'sending' && (r.message.claimedAt ?? 0) < claimedBefore)
        .sort(byAge);
      return out(
        stale.map((r) => {
          const message: OutboxMessage = {
            ...r.message,
            state: 'unknown',
            updatedAt: at,
            lastError:
              'the sender stopped mid-send (crash or restart): it may have been delivered, so it is not sent again',
          };
          put(r, message);
          return message;
        }),
      );
    },
    list({ incidentId, states, limit }) {
      const rows = t
        .rows('outbox')
        .filter((r) => incidentId === undefined || r.message.incidentId === incidentId)
        .filter((r) => states === undefined || states.includes(r.message.state))
        .sort(byAge)
        .map((r) => r.message);
      return out(rows.slice(0, listLimit(limit)));
    },
    countByState() {
      const counts: Record<OutboxState, number> = { pending: 0, sending: 0, sent: 0, failed: 0, unknown: 0 };
      for (const r of t.rows('outbox')) counts[r.message.state] += 1;
      return out(counts);
    },
  };
}
