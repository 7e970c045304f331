import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IncidentStore } from '../../src/core/incident-store.js';
import type { OutboxMessage, PagingDirectory } from '../../src/core/paging-records.js';

/** Paging's part of the store contract: directory, escalation states, outbox. Run on every adapter. */

export const outboxMessage = (id: string, at: number, extra: Partial<OutboxMessage> = {}): OutboxMessage => ({
  id,
  idempotencyKey: `key-${id}`,
  incidentId: 'i1',
  channel: 'ops-hook',
  notification: {
    kind: 'triggered',
    idempotencyKey: `key-${id}`,
    at,
    recipient: { target: 'user:alice', user: { name: 'alice', email: 'alice@example.com' } },
    incident: {
      id: 'i1',
      title: 'Deadlocks on shop-db',
      summary: 's',
      severity: 'critical',
      service: 'shop',
      state: 'triggered',
      createdAt: at,
      url: 'http://h/incidents/i1',
    },
    acknowledge: null,
    step: { index: 0, round: 0 },
    actor: null,
  },
  state: 'pending',
  attempts: 0,
  nextAttemptAt: at,
  createdAt: at,
  updatedAt: at,
  claimedAt: null,
  sentAt: null,
  lastError: null,
  ...extra,
});

const directory: PagingDirectory = {
  users: [{ name: 'alice', email: 'alice@example.com', timeZone: 'Europe/Berlin', contacts: [] }],
  teams: [{ name: 'database', members: ['alice'] }],
  schedules: [
    {
      name: 'primary',
      timeZone: 'Europe/Berlin',
      layers: [
        {
          rotation: { every: 'week', weekday: 1, handoffMinute: 540, users: ['alice'], start: null },
          from: null,
          until: null,
        },
      ],
      overrides: [],
    },
  ],
  channels: [{ name: 'ops-hook', type: 'webhook', settings: { url: 'https://ops.example.com/hook' } }],
  escalationPolicies: [
    {
      name: 'p',
      steps: [{ afterMs: 0, targets: [{ kind: 'schedule', name: 'primary' }] }],
      repeat: 0,
      ackExpiresMs: null,
    },
  ],
};

export function pagingStoreContract(name: string, open: () => Promise<IncidentStore>): void {
  describe(`IncidentStore paging contract: ${name}`, () => {
    let store: IncidentStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('keeps the directory last saved, empty before any', async () => {
      expect((await store.paging.get()).users).toEqual([]);
      await store.paging.save(directory, 1);
      expect(await store.paging.get()).toEqual(directory);
      await store.paging.save({ ...directory, users: [] }, 2);
      expect((await store.paging.get()).users).toEqual([]);
    });

    it('keeps the first signing key offered, whoever offers one later', async () => {
      const [a, b] = await Promise.all([store.paging.signingKey('key-a'), store.paging.signingKey('key-b')]);
      expect(a).toBe(b);
      expect(await store.paging.signingKey('key-c')).toBe(a);
      await store.paging.save(directory, 3);
      expect(await store.paging.signingKey('key-d')).toBe(a);
    });

    it('upserts escalation records and lists the ones not stopped', async () => {
      await store.escalations.save({
        incidentId: 'b',
        policy: 'p',
        state: { kind: 'paging', run: 0, startedAt: 1, next: { run: 0, round: 0, index: 1 } },
        wakeAt: 5,
        updatedAt: 1,
      });
      await store.escalations.save({
        incidentId: 'a',
        policy: 'p',
        state: { kind: 'stopped', run: 0, at: 3 },
        wakeAt: null,
        updatedAt: 3,
      });
      await store.escalations.save({
        incidentId: 'c',
        policy: 'p',
        state: { kind: 'acknowledged', run: 1, acknowledgedAt: 2, expiresAt: null },
        wakeAt: null,
        updatedAt: 2,
      });
      expect((await store.escalations.listActive()).map((r) => r.incidentId)).toEqual(['b', 'c']);
      await store.escalations.save({
        incidentId: 'b',
        policy: 'p',
        state: { kind: 'stopped', run: 0, at: 9 },
        wakeAt: null,
        updatedAt: 9,
      });
      expect(await store.escalations.get('b')).toEqual({
        incidentId: 'b',
        policy: 'p',
        state: { kind: 'stopped', run: 0, at: 9 },
        wakeAt: null,
        updatedAt: 9,
      });
      expect(await store.escalations.get('nope')).toBeNull();
    });

    it('enqueues each idempotency key once, even from two transactions', async () => {
      expect(
        (await store.outbox.enqueue([outboxMessage('m1', 10), outboxMessage('m2', 20)])).map((m) => m.id),
      ).toEqual(['m1', 'm2']);
      expect(
        await store.outbox.enqueue([
          outboxMessage('m3', 30, { idempotencyKey: 'key-m1' }),
          outboxMessage('m4', 40),
        ]),
      ).toEqual([outboxMessage('m4', 40)]);
      const [a, b] = await Promise.all([
        store.transact('x', (tx) => tx.outbox.enqueue([outboxMessage('m5', 50, { idempotencyKey: 'same' })])),
        store.transact('y', (tx) => tx.outbox.enqueue([outboxMessage('m6', 50, { idempotencyKey: 'same' })])),
      ]);
      expect(a.length + b.length).toBe(1);
      expect((await store.outbox.list({})).map((m) => m.id)).toEqual([
        'm1',
        'm2',
        'm4',
        a.length === 1 ? 'm5' : 'm6',
      ]);
    });

    it('claims due pending messages oldest first, once, and finishes only a message being sent', async () => {
      await store.outbox.enqueue([
        outboxMessage('m1', 10),
        outboxMessage('m2', 20),
        outboxMessage('late', 15, { nextAttemptAt: 1_000 }),
      ]);
      const claimed = await store.outbox.claim({ now: 100, limit: 10 });
      expect(claimed.map((m) => [m.id, m.state, m.attempts, m.claimedAt])).toEqual([
        ['m1', 'sending', 1, 100],
        ['m2', 'sending', 1, 100],
      ]);
      expect(await store.outbox.claim({ now: 100, limit: 10 })).toEqual([]);
      expect(await store.outbox.finish('m1', { state: 'sent', sentAt: 110, at: 110 })).toBe(true);
      expect(await store.outbox.finish('m1', { state: 'failed', at: 120 })).toBe(false);
      expect(
        await store.outbox.finish('m2', { state: 'pending', nextAttemptAt: 500, lastError: '503', at: 110 }),
      ).toBe(true);
      expect(await store.outbox.claim({ now: 499, limit: 10 })).toEqual([]);
      expect((await store.outbox.claim({ now: 500, limit: 10 })).map((m) => [m.id, m.attempts])).toEqual([
        ['m2', 2],
      ]);
      expect(await store.outbox.finish('m2', { state: 'pending', at: 510, release: true })).toBe(true);
      expect(
        (await store.outbox.list({ states: ['pending'] })).map((m) => [m.id, m.attempts, m.lastError]),
      ).toEqual([
        ['late', 0, null],
        ['m2', 1, '503'],
      ]);
      expect((await store.outbox.list({ incidentId: 'i1', states: ['sent'] }))[0]).toMatchObject({
        id: 'm1',
        sentAt: 110,
      });
      expect(await store.outbox.countByState()).toEqual({
        pending: 2,
        sending: 0,
        sent: 1,
        failed: 0,
        unknown: 0,
      });
    });

    it('never hands one message to two claimers at once', async () => {
      await store.outbox.enqueue(
        Array.from({ length: 30 }, (_, i) => outboxMessage(`m${String(i).padStart(2, '0')}`, i)),
      );
      const batches = await Promise.all([1, 2, 3].map(() => store.outbox.claim({ now: 100, limit: 12 })));
      const ids = batches.flat().map((m) => m.id);
      expect(ids.length).toBe(30);
      expect(new Set(ids).size).toBe(30);
    });

    it('marks messages left sending before a time unknown, and never claims them again', async () => {
      await store.outbox.enqueue([outboxMessage('old', 10), outboxMessage('new', 20)]);
      await store.outbox.claim({ now: 100, limit: 1 });
      await store.outbox.claim({ now: 200, limit: 1 });
      const abandoned = await store.outbox.abandon({ claimedBefore: 150, at: 300 });
      expect(abandoned.map((m) => [m.id, m.state])).toEqual([['old', 'unknown']]);
      expect(await store.outbox.finish('old', { state: 'sent', at: 310 })).toBe(false);
      expect(await store.outbox.claim({ now: 1_000, limit: 10 })).toEqual([]);
      expect(await store.outbox.countByState()).toEqual({
        pending: 0,
        sending: 1,
        sent: 0,
        failed: 0,
        unknown: 1,
      });
    });

    it('rolls back what a failed transaction enqueued', async () => {
      await expect(
        store.transact('t', async (tx) => {
          await tx.outbox.enqueue([outboxMessage('m1', 10)]);
          await tx.escalations.save({
            incidentId: 'i1',
            policy: 'p',
            state: { kind: 'exhausted', run: 0, startedAt: 1 },
            wakeAt: null,
            updatedAt: 1,
          });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.outbox.list({})).toEqual([]);
      expect(await store.escalations.get('i1')).toBeNull();
    });
  });
}
