import { describe, expect, it } from 'vitest';
import { FindingIntake } from '../../../src/app/finding-intake.js';
import { RuleQueries } from '../../../src/app/rule-queries.js';
import { DEFAULT_GROUPING } from '../../../src/core/catalog.js';
import type { Finding } from '../../../src/core/finding.js';
import type { IncidentStore } from '../../../src/core/incident-store.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { deadlock, episode } from '../../support/finding-builder.js';

describe('FindingIntake', () => {
  it('saves findings (upserting by id) and nudges once per batch, not for an empty one', async () => {
    const store = new MemoryStore();
    let nudges = 0;
    const intake = new FindingIntake({ store, nudge: () => (nudges += 1) });
    await intake.ingestFindings([episode('e1', 1_000), deadlock('d1', 1_500)], 2_000);
    await intake.ingestFindings([episode('e1', 1_000, { phase: 'closed', endedAt: 3_000 })], 3_000);
    await intake.ingestFindings([], 4_000);
    expect(nudges).toBe(2);
    const saved = await store.findings.get(['e1', 'd1']);
    expect(saved.map((f) => (f.kind === 'blocking_episode' ? f.phase : f.kind))).toEqual([
      'closed',
      'deadlock',
    ]);
  });

  it('as a sink, saves what a watch publishes in order and reports a failed save without stopping', async () => {
    const store = new MemoryStore();
    const clock = new FakeClock();
    const failures: (readonly Finding[])[] = [];
    const intake = new FindingIntake({ store });
    const sink = intake.sink(clock, (_error, findings) => failures.push(findings));
    sink.publish(deadlock('d1', 1));
    sink.publish(deadlock('d2', 2));
    await sink.flushed();
    expect((await store.findings.get(['d1', 'd2'])).map((f) => f.id)).toEqual(['d1', 'd2']);

    // A store whose finding saves fail (the database down): only what the intake touches.
    const down = { findings: { save: () => Promise.reject(new Error('down')) } } as unknown as IncidentStore;
    const broken = new FindingIntake({ store: down });
    const brokenSink = broken.sink(clock, (_error, findings) => failures.push(findings));
    brokenSink.publish(deadlock('d3', 3));
    await brokenSink.flushed();
    expect(failures.map((batch) => batch.map((f) => f.id))).toEqual([['d3']]);
  });
});

describe('RuleQueries', () => {
  it('lists the built-in rules with the global overrides, and the rules in force for a service and target', async () => {
    const store = new MemoryStore();
    await store.services.save({
      name: 'shop',
      grouping: DEFAULT_GROUPING,
      integrations: [],
      rules: { blocking: { threshold: 60 } },
      escalationPolicy: null,
    });
    await store.targets.save({
      name: 'shop-db',
      redactedUrl: 'x',
      service: 'shop',
      log: null,
      rules: { blocking: { severity: 'critical' } },
    });
    const queries = new RuleQueries({ store, overrides: { blocking: { windowMs: 60_000 } } });
    expect(queries.listRules().find((r) => r.name === 'blocking')).toMatchObject({
      threshold: 30,
      windowMs: 60_000,
      severity: 'error',
    });
    const rules = await queries.effectiveRules('shop', 'shop-db');
    expect(rules.find((r) => r.name === 'blocking')).toMatchObject({
      threshold: 60,
      windowMs: 60_000,
      severity: 'critical',
    });
    expect((await queries.effectiveRules('nope')).find((r) => r.name === 'blocking')?.threshold).toBe(30);
  });
});
