import { describe, expect, it } from 'vitest';
import { FindingIntake } from '../../src/app/finding-intake.js';
import { IncidentService } from '../../src/app/incident-service.js';
import { RuleCycle } from '../../src/app/rule-cycle.js';
import { DEFAULT_GROUPING } from '../../src/core/catalog.js';
import { RuleLoop } from '../../src/engine/rule-loop.js';
import { systemClock } from '../../src/platform/system-clock.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { deadlock } from '../support/finding-builder.js';
import { CountingIds } from '../support/sample-builder.js';

describe('scenario: a deadlock reaches the API fast', () => {
  it('a nudged loop makes a saved deadlock finding a readable incident well within a second, without waiting for its tick', async () => {
    const store = new MemoryStore();
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
      redactedUrl: 'postgres://x',
      service: 'shop',
      log: null,
      rules: {},
    });
    const controller = new AbortController();
    // A one-minute interval: only the nudge can make this fast.
    const loop = new RuleLoop(new RuleCycle({ store, clock: systemClock, ids }), {
      signal: controller.signal,
      logger: { error: () => undefined },
      clock: systemClock,
      intervalMs: 60_000,
    });
    const intake = new FindingIntake({
      store,
      nudge: () => {
        loop.nudge();
      },
    });
    const incidents = new IncidentService({ store, clock: systemClock, ids });
    const running = loop.run();
    await new Promise((resolve) => setTimeout(resolve, 20)); // the first, empty cycle
    try {
      const started = performance.now();
      await intake.ingestFindings([deadlock('dl-1', systemClock.now())], systemClock.now());
      let open = await incidents.list();
      while (open.length === 0 && performance.now() - started < 2_000) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        open = await incidents.list();
      }
      const took = performance.now() - started;
      expect(open).toHaveLength(1);
      expect(took).toBeLessThan(1_000);
    } finally {
      controller.abort();
      await running;
    }
  });
});
