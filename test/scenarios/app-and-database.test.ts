import { describe, expect, it } from 'vitest';
import { SignalIntake } from '../../src/app/signal-intake.js';
import type { AppEvent } from '../../src/core/app-signal.js';
import type { Finding } from '../../src/core/finding.js';
import { deadlock } from '../support/finding-builder.js';
import { deploy } from '../support/rollup-builder.js';
import { IncidentWorld } from './incident-world.js';

const SEC = 1_000;
const MIN = 60 * SEC;

/**
 * The seed's outage on the memory store with a fake clock: 200 users of `shop` browse every 10 s,
 * 60 of them (30 %) check out; deploy v2 makes checkout deadlock with the restock job (40P01 at
 * checkout.ts:88), the agent reports the deadlocks on shop-db (service shop) with their sqlcommenter
 * tags; deploy v2.1 fixes it.
 */
class ShopWorld extends IncidentWorld {
  readonly signals = new SignalIntake({ store: this.store });
  broken = false;
  /** Which checkouts fail (the n-th overall) while not broken: none by default. */
  flaky: (n: number) => boolean = () => false;
  #n = 0;

  async setUp(): Promise<void> {
    await this.service('shop');
    await this.target('shop-db', 'shop');
  }

  /** One 10 s step of traffic (stamped inside the step), plus `findings`, then a rule cycle. */
  async step(findings: readonly Finding[] = []): Promise<Awaited<ReturnType<IncidentWorld['tick']>>> {
    await this.traffic();
    return this.tick(10 * SEC, findings);
  }

  /** The traffic of the next 10 s, ingested but not yet evaluated. */
  async traffic(): Promise<void> {
    const at = this.clock.now() + 5 * SEC;
    const events: AppEvent[] = [];
    for (let u = 0; u < 200; u += 1) {
      const user = `user-${String(u).padStart(3, '0')}`;
      events.push({
        kind: 'request',
        service: 'shop',
        at,
        method: 'GET',
        route: '/products',
        status: 200,
        durationMs: 3,
        user,
        errorClass: null,
        release: null,
        sqlFailures: [],
      });
      if (u >= 60) continue;
      this.#n += 1;
      // While broken, 6 checkouts in 7 deadlock (some get through between restock runs).
      const fails = this.broken ? this.#n % 7 !== 0 : this.flaky(this.#n);
      events.push({
        kind: 'request',
        service: 'shop',
        at,
        method: 'POST',
        route: '/checkout',
        status: fails ? 500 : 200,
        durationMs: 12,
        user,
        errorClass: fails ? 'DatabaseError' : null,
        release: null,
        sqlFailures: fails
          ? [
              {
                sqlstate: '40P01',
                query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
                callSite: 'demo/shop/checkout.ts:88',
              },
            ]
          : [],
      });
    }
    if (this.broken) {
      events.push({
        kind: 'query_failure',
        service: 'shop',
        at,
        job: 'restock',
        release: null,
        failure: {
          sqlstate: '40P01',
          query: 'UPDATE products SET stock = stock + $1 WHERE id = $2',
          callSite: 'demo/shop/restock.ts:20',
        },
      });
    }
    await this.signals.ingestEvents(events, at);
  }

  async deploy(version: string): Promise<void> {
    await this.store.deploys.insert(deploy(version, this.clock.now()));
  }

  /** A deadlock between checkout and restock, reported by the agent with the statements' tags. */
  deadlockAt(id: string, at: number): Finding {
    const base = deadlock(id, at);
    const [a, b] = base.processes;
    return {
      ...base,
      processes: [
        { ...a!, tags: { route: 'POST /checkout', callsite: 'demo/shop/checkout.ts:88', release: 'v2' } },
        { ...b!, tags: { job: 'restock', callsite: 'demo/shop/restock.ts:20', release: 'v2' } },
      ],
    };
  }
}

/** Healthy traffic, deploy v2, then `broken` steps with a deadlock report at each step in `deadlocksAt`. */
const outage = async (world: ShopWorld, deadlocksAt: readonly number[]): Promise<void> => {
  for (let i = 0; i < 12; i += 1) await world.step();
  await world.deploy('v2');
  world.broken = true;
  for (let i = 0; i < 12; i += 1) {
    const findings = deadlocksAt.includes(i) ? [world.deadlockAt(`d${i}`, world.clock.now() + 2 * SEC)] : [];
    await world.step(findings);
  }
};

const expectOneIncident = async (world: ShopWorld) => {
  const incidents = await world.incidents.list({ state: 'all' });
  expect(incidents).toHaveLength(1);
  const detail = await world.incidents.detail(incidents[0]!.id);
  expect(detail.alerts.map((a) => a.fingerprint).sort()).toEqual([
    'rule:deadlocks:shop-db',
    'rule:error_rate:shop:POST /checkout',
  ]);
  return detail;
};

describe('scenario: the app and its database in one incident', () => {
  it('a deadlock first, then the error rate of checkout: one incident naming both sides', async () => {
    const world = new ShopWorld();
    await world.setUp();
    await outage(world, [0, 2, 4, 6, 8]);
    const detail = await expectOneIncident(world);
    expect(detail.incident.title).toBe('Deadlocks on shop-db');
    const errorRate = detail.alerts.find((a) => a.rule === 'error_rate')!;
    expect(errorRate).toMatchObject({
      target: null,
      labels: { rule: 'error_rate', service: 'shop', route: 'POST /checkout' },
    });
    expect(detail.impact).toMatchObject({
      affectedUsers: 60,
      activeUsers: 200,
      share: 0.3,
      truncated: false,
    });
    expect(detail.attribution[0]).toMatchObject({
      route: 'POST /checkout',
      sqlstate: '40P01',
      callSite: 'demo/shop/checkout.ts:88',
      share: 1,
    });
    expect(detail.onsetDeploy).toMatchObject({ version: 'v2' });
    expect(detail.incident.summary).toMatch(
      /^5 deadlocks between POST \/checkout \(demo\/shop\/checkout\.ts:88: `UPDATE inventory …`\) and job restock \(demo\/shop\/restock\.ts:20: `UPDATE products …`\) on shop-db; \d+% of POST \/checkout requests failed on shop in 1 min \(\d+ of \d+; baseline 0%\); 100% of failures on POST \/checkout are 40P01 at demo\/shop\/checkout\.ts:88; 30% of users affected \(60 of 200\); began 10 s after deploy v2$/,
    );
  });

  it('the error rate first, a deadlock two minutes later: still one incident, opened by the app', async () => {
    const world = new ShopWorld();
    await world.setUp();
    await outage(world, [11]);
    const detail = await expectOneIncident(world);
    expect(detail.incident.title).toBe('Errors on POST /checkout of shop');
    expect(detail.onsetDeploy?.version).toBe('v2');
    expect(detail.incident.summary).toContain('1 deadlock between POST /checkout (demo/shop/checkout.ts:88');
  });

  it('a deadlock found 15 minutes into a steady checkout outage still joins its incident', async () => {
    const world = new ShopWorld();
    await world.setUp();
    for (let i = 0; i < 12; i += 1) await world.step();
    await world.deploy('v2');
    world.broken = true;
    for (let i = 0; i < 90; i += 1) await world.step();
    await world.step([world.deadlockAt('late', world.clock.now() + 2 * SEC)]);
    const detail = await expectOneIncident(world);
    expect(detail.incident.state).toBe('triggered');
  });

  it('is idempotent at the same now, and resolves after the fix deploy with its figures kept', async () => {
    const world = new ShopWorld();
    await world.setUp();
    await outage(world, [0, 3]);
    const before = await world.snapshot();
    const again = await world.cycle.run(world.clock.now());
    expect(again).toMatchObject({ fired: 0, refreshed: 0, resolved: 0 });
    expect(await world.snapshot()).toEqual(before);

    await world.deploy('v2.1');
    world.broken = false;
    for (let i = 0; i < 6 * 6; i += 1) await world.step();
    const detail = await expectOneIncident(world);
    expect(detail.incident.state).toBe('resolved');
    expect(detail.alerts.every((a) => a.status === 'resolved')).toBe(true);
    // The figures are of the outage (the span ends at the resolution), and the onset is still v2.
    expect(detail.impact).toMatchObject({ affectedUsers: 60, activeUsers: 200 });
    expect(detail.onsetDeploy?.version).toBe('v2');
    expect(detail.incident.summary).toContain(
      '30% of users affected (60 of 200); began 10 s after deploy v2',
    );
    // Hours later the detail reads the same.
    world.clock.advance(3 * 60 * MIN);
    const later = await world.incidents.detail(detail.incident.id);
    expect({ impact: later.impact, attribution: later.attribution, onsetDeploy: later.onsetDeploy }).toEqual({
      impact: detail.impact,
      attribution: detail.attribution,
      onsetDeploy: detail.onsetDeploy,
    });
  });

  it('a route that always fails a little does not page; the same route failing more does', async () => {
    const world = new ShopWorld();
    await world.setUp();
    // 3 checkouts in 20 fail all along (15 %, over the 10 % floor): 30 min of history first.
    world.flaky = (n) => n % 20 < 3;
    for (let i = 0; i < 180; i += 1) {
      await world.traffic();
      world.clock.advance(10 * SEC);
    }
    let fired = 0;
    for (let i = 0; i < 60; i += 1) fired += (await world.step()).fired;
    expect(fired).toBe(0);
    expect(await world.incidents.list({ state: 'all' })).toHaveLength(0);
    // At 6 in 7 failing, well over twice its 15 %, it pages.
    world.broken = true;
    for (let i = 0; i < 6; i += 1) fired += (await world.step()).fired;
    expect(fired).toBe(1);
    const [opened] = await world.incidents.list({ state: 'all' });
    expect(opened?.summary).toMatch(
      /^\d+% of POST \/checkout requests failed on shop in 1 min \(\d+ of \d+; baseline 15%\)/,
    );
  });
});
