import { describe, expect, it } from 'vitest';
import { AlertQueries } from '../../../src/app/alert-queries.js';
import { IncidentService } from '../../../src/app/incident-service.js';
import { isHindsightError } from '../../../src/core/errors.js';
import type { IncidentStore, StoreRepositories } from '../../../src/core/incident-store.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { incident } from '../../support/finding-builder.js';
import { CountingIds } from '../../support/sample-builder.js';

/**
 * A store where, `races` times, someone else (the rule cycle, growing the summary) writes the
 * incident between the service's read and its write.
 */
const racingStore = (store: MemoryStore, races: number): IncidentStore => {
  let left = races;
  const racing = (tx: StoreRepositories): StoreRepositories => ({
    ...tx,
    incidents: {
      ...tx.incidents,
      update: async (next) => {
        if (left > 0) {
          left -= 1;
          const current = (await tx.incidents.get(next.id))!;
          await tx.incidents.update({
            ...current,
            summary: `${current.summary}+`,
            version: current.version + 1,
          });
        }
        return tx.incidents.update(next);
      },
    },
  });
  return {
    ...racing(store),
    transact: (lock, work) => store.transact(lock, (tx) => work(racing(tx))),
    ping: () => store.ping(),
    close: () => store.close(),
  };
};

const codeOf = async (work: Promise<unknown>): Promise<string | null> => {
  try {
    await work;
    return null;
  } catch (error) {
    if (isHindsightError(error)) return error.code;
    throw error;
  }
};

describe('IncidentService under concurrent writes', () => {
  it('a command without an expected version is applied to the fresh copy when the cycle wrote first', async () => {
    const memory = new MemoryStore();
    await memory.incidents.insert(incident());
    const service = new IncidentService({
      store: racingStore(memory, 2),
      clock: new FakeClock(),
      ids: new CountingIds(),
    });
    const acked = await service.acknowledge('inc-1', 'alice');
    expect(acked).toMatchObject({ state: 'acknowledged', summary: '++', version: 4 });
    expect((await memory.timeline.list('inc-1')).map((e) => [e.kind, e.actor])).toEqual([
      ['state_changed', 'alice'],
    ]);
  });

  it('with an expected version, the lost race is a conflict and nothing is recorded', async () => {
    const memory = new MemoryStore();
    await memory.incidents.insert(incident());
    const service = new IncidentService({
      store: racingStore(memory, 1),
      clock: new FakeClock(),
      ids: new CountingIds(),
    });
    expect(await codeOf(service.acknowledge('inc-1', 'alice', { expectedVersion: 1 }))).toBe(
      'INCIDENT_CONFLICT',
    );
    expect(await memory.timeline.list('inc-1')).toEqual([]);
    expect((await memory.incidents.get('inc-1'))?.state).toBe('triggered');
  });

  it('refuses an empty actor', async () => {
    const memory = new MemoryStore();
    await memory.incidents.insert(incident());
    const service = new IncidentService({ store: memory, clock: new FakeClock(), ids: new CountingIds() });
    expect(await codeOf(service.resolve('inc-1', ' '))).toBe('INVALID_INPUT');
  });
});

describe('AlertQueries and counts', () => {
  it('reads alerts and counts, and names a missing alert', async () => {
    const memory = new MemoryStore();
    await memory.incidents.insert(incident());
    const alerts = new AlertQueries({ store: memory });
    expect(await codeOf(alerts.get('nope'))).toBe('ALERT_NOT_FOUND');
    expect(await alerts.countByStatus()).toEqual({ firing: 0, resolved: 0 });
    const service = new IncidentService({ store: memory, clock: new FakeClock(), ids: new CountingIds() });
    expect((await service.countByState()).triggered).toBe(1);
  });
});
