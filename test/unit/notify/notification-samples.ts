import type {
  DigestNotification,
  IncidentNotification,
  NotifiedIncident,
  TestNotification,
} from '../../../src/core/notification.js';

/** Notifications as the outbox would hand them over, with the seed's story in them. */

export const T0 = Date.UTC(2026, 10, 30, 16, 0, 0);

export function sampleIncident(overrides: Partial<NotifiedIncident> = {}): NotifiedIncident {
  return {
    id: 'inc_01',
    title: 'Deadlocks on shop-db',
    summary:
      'POST /checkout failing for 31% of users; 94% of failures are SQLSTATE 40P01; 212 deadlocks between `UPDATE inventory …` (checkout.ts:88) and `UPDATE products …` (restock.ts:41)',
    severity: 'critical',
    service: 'shop',
    state: 'triggered',
    createdAt: T0 - 60_000,
    url: 'https://hindsight.example.com/incidents/inc_01',
    ...overrides,
  };
}

export function triggered(overrides: Partial<IncidentNotification> = {}): IncidentNotification {
  return {
    kind: 'triggered',
    idempotencyKey: 'outbox_1:0',
    at: T0,
    recipient: { target: 'schedule:primary', user: { name: 'alice', email: 'alice@example.com' } },
    incident: sampleIncident(),
    acknowledge: { url: 'https://hindsight.example.com/ack/inc_01?sig=abc123', expiresAt: T0 + 30 * 60_000 },
    step: { index: 0, round: 0 },
    actor: null,
    ...overrides,
  };
}

export function acknowledged(): IncidentNotification {
  return triggered({
    kind: 'acknowledged',
    idempotencyKey: 'outbox_2:0',
    incident: sampleIncident({ state: 'acknowledged' }),
    acknowledge: null,
    step: null,
    actor: 'alice',
  });
}

export function resolved(): IncidentNotification {
  return triggered({
    kind: 'resolved',
    idempotencyKey: 'outbox_3:0',
    recipient: null,
    incident: sampleIncident({ state: 'resolved' }),
    acknowledge: null,
    step: null,
    actor: 'dora',
  });
}

export function testMessage(): TestNotification {
  return {
    kind: 'test',
    idempotencyKey: 'test_1',
    at: T0,
    recipient: null,
    channel: 'ops',
    requestedBy: 'admin',
  };
}

export function digest(count: number): DigestNotification {
  const incidents = Array.from({ length: Math.min(count, 10) }, (_, i) =>
    sampleIncident({
      id: `inc_${i}`,
      title: `Incident ${i}`,
      severity: i === 3 ? 'critical' : 'warning',
      url: `https://hindsight.example.com/incidents/inc_${i}`,
    }),
  );
  return { kind: 'digest', idempotencyKey: 'digest_1', at: T0, recipient: null, incidents, total: count };
}

/** What the monitored world may put in a summary: markup of every channel at once. */
export const HOSTILE_SUMMARY =
  '<script>alert(1)</script> *bold* _it_ @here @everyone <!channel> <@123> [x](https://evil.example) {{DATE(2017-02-14T06:08:39Z, SHORT)}} & done\n# heading\n1. list';
