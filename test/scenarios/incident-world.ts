import { FindingIntake } from '../../src/app/finding-intake.js';
import { InboundAlertIntake } from '../../src/app/inbound-alert-intake.js';
import { IncidentService } from '../../src/app/incident-service.js';
import { RuleCycle } from '../../src/app/rule-cycle.js';
import type { RuleCycleReport } from '../../src/app/rule-cycle.js';
import type { Grouping, RuleOverride, Service } from '../../src/core/catalog.js';
import { DEFAULT_GROUPING } from '../../src/core/catalog.js';
import type { Finding } from '../../src/core/finding.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { FakeClock } from '../support/fake-clock.js';
import { CountingIds } from '../support/sample-builder.js';

/**
 * The incident engine on the memory store with a fake clock: what a scenario drives. `tick` moves
 * time on, saves the findings given, and runs one rule cycle, as serve does once a second.
 */
export class IncidentWorld {
  readonly store = new MemoryStore();
  readonly clock = new FakeClock();
  readonly ids = new CountingIds();
  readonly intake = new FindingIntake({ store: this.store });
  readonly cycle = new RuleCycle({ store: this.store, clock: this.clock, ids: this.ids });
  readonly incidents = new IncidentService({ store: this.store, clock: this.clock, ids: this.ids });
  readonly inbound = new InboundAlertIntake({ store: this.store, clock: this.clock, ids: this.ids });

  async service(
    name: string,
    options: { grouping?: Grouping; rules?: Record<string, RuleOverride> } = {},
  ): Promise<Service> {
    const service: Service = {
      name,
      grouping: options.grouping ?? DEFAULT_GROUPING,
      integrations: [],
      rules: options.rules ?? {},
      escalationPolicy: null,
    };
    await this.store.services.save(service);
    return service;
  }

  async target(name: string, service: string, rules: Record<string, RuleOverride> = {}): Promise<void> {
    await this.store.targets.save({
      name,
      redactedUrl: `postgres://monitor:***@db/${name}`,
      service,
      log: null,
      rules,
    });
  }

  /** Advance `ms`, ingest `findings` (stamped by the caller), run a cycle. */
  async tick(ms: number, findings: readonly Finding[] = []): Promise<RuleCycleReport> {
    this.clock.advance(ms);
    await this.intake.ingestFindings(findings, this.clock.now());
    return this.cycle.run(this.clock.now());
  }

  /** Everything the store holds that a cycle may change, for before/after comparisons. */
  async snapshot(): Promise<unknown> {
    const incidents = await this.store.incidents.list({ limit: 1000 });
    return {
      incidents,
      alerts: await this.store.alerts.list({ limit: 1000 }),
      timelines: await Promise.all(incidents.map((i) => this.store.timeline.list(i.id))),
      states: await this.store.ruleStates.list(),
    };
  }
}
