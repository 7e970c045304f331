import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentService } from '../../../src/app/incident-service.js';
import { RuleCycle } from '../../../src/app/rule-cycle.js';
import { SignalIntake } from '../../../src/app/signal-intake.js';
import type { AppEvent } from '../../../src/core/app-signal.js';
import { DEFAULT_GROUPING } from '../../../src/core/catalog.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { FakeClock } from '../../support/fake-clock.js';
import { deadlock } from '../../support/finding-builder.js';
import { deploy } from '../../support/rollup-builder.js';
import { CountingIds } from '../../support/sample-builder.js';

/**
 * The error_rate rule and the incident's app side on the PostgreSQL store (its rollups merged in SQL,
 * read back by window, service and route): checkout failing after deploy v2 and a deadlock on
 * shop-db are one incident, whose detail names impact, attribution and the deploy.
 */

let db: TestDatabase;
let store: PostgresStore;
beforeAll(async () => {
  db = await createTestDatabase('app_side');
  store = await PostgresStore.open({ url: db.url });
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

const SEC = 1_000;

const traffic = (at: number, broken: boolean): AppEvent[] =>
  Array.from({ length: 200 }, (_, u): AppEvent => {
    const user = `user-${String(u).padStart(3, '0')}`;
    const fails = broken && u < 60;
    return {
      kind: 'request',
      service: 'shop',
      at,
      method: u < 60 ? 'POST' : 'GET',
      route: u < 60 ? '/checkout' : '/products',
      status: fails ? 500 : 200,
      durationMs: 5,
      user,
      errorClass: fails ? 'DatabaseError' : null,
      release: broken ? 'v2' : 'v1',
      sqlFailures: fails
        ? [
            {
              sqlstate: '40P01',
              query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
              callSite: 'demo/shop/checkout.ts:88',
            },
          ]
        : [],
    };
  });

describe('the app side on PostgreSQL', () => {
  it('error rate and deadlock in one incident, with impact, attribution and the onset deploy', async () => {
    const clock = new FakeClock();
    const ids = new CountingIds();
    await store.services.save({
      name: 'shop',
      grouping: DEFAULT_GROUPING,
      integrations: [],
      rules: {},
      escalationPolicy: null,
    });
    await store.targets.save({
      name: 'shop-db',
      redactedUrl: 'postgres://m:***@db/shop',
      service: 'shop',
      log: null,
      rules: {},
    });
    const intake = new SignalIntake({ store });
    const cycle = new RuleCycle({ store, clock, ids });
    const incidents = new IncidentService({ store, clock, ids });

    for (let i = 0; i < 6; i += 1) {
      await intake.ingestEvents(traffic(clock.now() + 5 * SEC, false), clock.now());
      clock.advance(10 * SEC);
      await cycle.run(clock.now());
    }
    await store.deploys.insert(deploy('v2', clock.now()));
    let fired = 0;
    for (let i = 0; i < 6; i += 1) {
      await intake.ingestEvents(traffic(clock.now() + 5 * SEC, true), clock.now());
      if (i === 3) await store.findings.save([{ ...deadlock('d1', clock.now() + 2 * SEC) }], clock.now());
      clock.advance(10 * SEC);
      fired += (await cycle.run(clock.now())).fired;
    }
    expect(fired).toBe(2);
    const [only, ...rest] = await incidents.list({ state: 'all' });
    expect(rest).toEqual([]);
    const detail = await incidents.detail(only!.id);
    expect(detail.alerts.map((a) => a.fingerprint).sort()).toEqual([
      'rule:deadlocks:shop-db',
      'rule:error_rate:shop:POST /checkout',
    ]);
    expect(detail.impact).toMatchObject({ affectedUsers: 60, activeUsers: 200, share: 0.3 });
    expect(detail.attribution[0]).toMatchObject({
      route: 'POST /checkout',
      sqlstate: '40P01',
      callSite: 'demo/shop/checkout.ts:88',
      share: 1,
    });
    expect(detail.onsetDeploy?.version).toBe('v2');
    expect(detail.incident.summary).toContain(
      '30% of users affected (60 of 200); began 10 s after deploy v2',
    );
    // The same cycle again at the same now changes nothing.
    expect(await cycle.run(clock.now())).toMatchObject({ fired: 0, refreshed: 0, resolved: 0 });
  });
});
