import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresTarget } from '../../../../src/agent/targets/postgres/postgres-target.js';
import { isHindsightError } from '../../../../src/core/errors.js';
import type { Sample } from '../../../../src/core/sample.js';
import { LocalPostgres } from '../../../../src/platform/local-postgres.js';

// A server of its own: stopping the suite's shared server would break every other test file.
describe('PostgresTarget across a server restart', () => {
  let server: LocalPostgres;

  beforeAll(async () => {
    server = await LocalPostgres.start();
  });

  afterAll(async () => {
    await server.destroy();
  });

  it('reports the stopped server as transient, then reconnects and samples again', async () => {
    const target = await PostgresTarget.connect(server.url());
    try {
      await target.sample();
      await server.stop();

      const down = await target.sample().then(
        () => null,
        (error: unknown) => error,
      );
      expect(isHindsightError(down) && down).toMatchObject({ code: 'TARGET_UNREACHABLE', kind: 'transient' });

      await server.resume();
      let sample: Sample | null = null;
      const deadline = Date.now() + 20_000;
      while (!sample && Date.now() < deadline) {
        sample = await target.sample().catch((error: unknown) => {
          if (!isHindsightError(error) || error.kind !== 'transient') throw error;
          return new Promise<null>((resolve) =>
            setTimeout(() => {
              resolve(null);
            }, 100),
          );
        });
      }
      expect(sample?.sessions.length).toBeGreaterThan(0);
      expect(target.counters().connects).toBe(2);
    } finally {
      await target.close();
    }
  });
});
