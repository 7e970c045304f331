import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcHostReader } from '../../../../src/agent/host/proc-host-reader.js';
import { PostgresTarget } from '../../../../src/agent/targets/postgres/postgres-target.js';
import { hostFigures, type HostReading } from '../../../../src/core/host-figures.js';
import { systemClock } from '../../../../src/platform/system-clock.js';
import { createTestDatabase, type TestDatabase } from '../../../support/database.js';

/**
 * The embedded PostgreSQL runs on this host: its backends are in this /proc. A CPU-heavy query
 * beside idle sessions must come out on top, named by its statement.
 */
describe('CPU per backend on the embedded PostgreSQL', () => {
  let db: TestDatabase;
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('hostcpu');
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.end()));
    await db.drop();
  });

  it('names the statement burning CPU, and reads the host', async () => {
    for (let i = 0; i < 3; i += 1) {
      const idle = await db.connect({ applicationName: `idle-${i}` });
      idle.on('error', () => undefined);
      await idle.query('SELECT 1');
      clients.push(idle);
    }
    const busy = await db.connect({ applicationName: 'burner' });
    busy.on('error', () => undefined);
    clients.push(busy);
    const busyPid = (await busy.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    // Pure CPU, no I/O: the set-returning function in the select list streams (in FROM it would
    // fill a tuplestore and spill to temp files). Cancelled at the end, else stopped by the timeout.
    await busy.query("SET statement_timeout = '30s'");
    const burning = busy
      .query('SELECT count(*) FROM (SELECT generate_series(1, 2000000000) AS g) AS s WHERE g % 7 = 3')
      .catch(() => undefined);

    const target = PostgresTarget.create(db.url, { name: 'shop-db', clock: systemClock });
    const host = new URL(db.url).hostname;
    const reader = createProcHostReader({ targetHost: host, clock: systemClock });
    const signal = new AbortController().signal;
    try {
      const readings: { reading: HostReading; sample: Awaited<ReturnType<typeof target.sample>> }[] = [];
      for (let i = 0; i < 2; i += 1) {
        if (i > 0) await new Promise((r) => setTimeout(r, 1500));
        const sample = await target.sample(signal);
        const reading = await reader.read(
          sample.sessions.map((s) => s.pid),
          signal,
        );
        expect(reading, 'the embedded PostgreSQL runs here: its backends are in /proc').not.toBeNull();
        readings.push({ reading: reading!, sample });
      }
      const figures = hostFigures(readings[0]!.reading, readings[1]!.reading, readings[1]!.sample);
      const top = figures.backends[0];
      expect(top?.pid).toBe(busyPid);
      expect(top?.query).toContain('generate_series');
      expect(top?.application).toBe('burner');
      // On a shared 2-core machine the burner gets what the scheduler leaves it, but clearly some.
      expect(top!.cores).toBeGreaterThan(0.05);
      const idlePids = new Set(
        readings[1]!.sample.sessions.filter((s) => s.application?.startsWith('idle-')).map((s) => s.pid),
      );
      expect(idlePids.size).toBe(3);
      for (const b of figures.backends) if (idlePids.has(b.pid)) expect(b.cores).toBeLessThan(top!.cores / 5);
      expect(figures.cpuBusy).toBeGreaterThan(0);
      expect(figures.cpus).toBeGreaterThan(0);
      expect(figures.memory.totalBytes).toBeGreaterThan(figures.memory.availableBytes);
      expect(figures.disk?.totalBytes).toBeGreaterThan(0);
    } finally {
      await clients[0]!.query('SELECT pg_cancel_backend($1)', [busyPid]).catch(() => undefined);
      await burning;
      await target.close();
    }
  });
});
