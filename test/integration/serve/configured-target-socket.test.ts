import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeProblem, parseConfig } from '../../../src/config/config-file.js';
import { pgEnvironment } from '../../../src/config/postgres-conninfo.js';
import { configuredTarget } from '../../../src/configured-target.js';
import { openTargetWatch } from '../../../src/watch-deps.js';
import { adminUrl, createTestDatabase, type TestDatabase } from '../../support/database.js';

/**
 * A target of serve's (and agent's) configuration written as psql takes it — a Unix-socket
 * directory, no user, no password — is accepted by the configuration and watched with the `PG*`
 * variables filling the gaps, as `hindsight watch` does (issue 11: both were `watch`-only).
 */
const socketDir = inject('pgDataDir');

describe.skipIf(socketDir === '')('a configured target on a Unix socket, the rest from PG*', () => {
  let db: TestDatabase;
  const admin = new URL(adminUrl());
  const port = admin.port || '5432';

  beforeAll(async () => {
    db = await createTestDatabase('socket');
  });
  afterAll(async () => {
    await db.drop();
  });

  const watchFirstSample = async (
    env: Record<string, string>,
  ): Promise<{ sampled: boolean; done: unknown }> => {
    const parsed = parseConfig(
      `targets:\n  - { name: shop-db, url: "postgresql://@/${db.name}?host=${encodeURIComponent(socketDir)}&port=${port}", interval: 200ms }\n`,
      { env: {} },
    );
    if (!parsed.ok) throw new Error(parsed.problems.map(describeProblem).join('\n'));
    const target = parsed.config.targets[0]!;
    const stop = new AbortController();
    const watch = openTargetWatch(
      configuredTarget(target, pgEnvironment(env)),
      { publish: () => undefined },
      stop.signal,
    );
    const progress = { ended: false };
    const done = watch.done.then(
      () => 'stopped',
      (error: unknown) => error,
    );
    void done.finally(() => (progress.ended = true));
    const by = Date.now() + 10_000;
    while (watch.state.lastSample === null && !progress.ended && Date.now() < by)
      await new Promise((r) => setTimeout(r, 50));
    const sampled = watch.state.lastSample !== null;
    stop.abort();
    return { sampled, done: await done };
  };

  it('samples with the user and password from PGUSER and PGPASSWORD', async () => {
    const outcome = await watchFirstSample({
      PGUSER: decodeURIComponent(admin.username),
      PGPASSWORD: decodeURIComponent(admin.password),
      PGPASSFILE: '/nonexistent',
      USER: 'nobody',
    });
    expect(outcome).toEqual({ sampled: true, done: 'stopped' });
  });

  it('without them the server refuses it, and watch says so (the environment is what made the difference)', async () => {
    const outcome = await watchFirstSample({
      PGUSER: decodeURIComponent(admin.username),
      PGPASSFILE: '/nonexistent',
      USER: 'nobody',
    });
    expect(outcome.sampled).toBe(false);
    expect(String(outcome.done)).toMatch(/password/i);
  });
});
