import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { makeDeadlock } from '../support/deadlock.js';
import { eventually, ServeProcess } from '../support/serve-process.js';

interface IncidentJson {
  readonly id: string;
  readonly service: string;
}
interface DetailJson {
  readonly incident: IncidentJson;
  readonly timeline: readonly { readonly kind: string }[];
  readonly evidence: readonly { readonly id: string; readonly kind: string }[];
}

/**
 * `kill -9` of serve in the middle of a burst of deadlocks, then a restart on the same data dir:
 * the embedded store comes back with every committed row, the incident is neither lost nor
 * doubled, and deadlocks after the restart join it.
 */
describe('serve killed with SIGKILL mid-burst', () => {
  const token = `hs_crash_${Math.random().toString(36).slice(2)}`;
  let db: TestDatabase;
  let dir: string;
  let serve: ServeProcess | undefined;
  let a: pg.Client;
  let b: pg.Client;
  const args = (): string[] => [
    '--config',
    join(dir, 'hindsight.config.yaml'),
    '--port',
    '0',
    '--data-dir',
    join(dir, 'data'),
  ];
  const env = (): NodeJS.ProcessEnv => ({ SHOP_DB_URL: db.url, HINDSIGHT_ADMIN_TOKEN: token });

  const deadlockEvidence = async (s: ServeProcess, id: string): Promise<DetailJson> => {
    const { body } = await s.api<DetailJson>(`/api/v1/incidents/${id}`, { token });
    return body;
  };

  beforeAll(async () => {
    const logDir = inject('pgLogDirectory');
    if (!logDir) return; // the log is how serve sees each deadlock; an external server gives none
    db = await createTestDatabase('crash');
    await withClient(db.url, (c) =>
      c.query(
        'CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g;',
      ),
    );
    dir = await mkdtemp(join(tmpdir(), 'hindsight-crash-'));
    await chmod(dir, 0o755); // as root, the embedded PostgreSQL runs as `postgres`, which must reach its data dir
    await writeFile(
      join(dir, 'hindsight.config.yaml'),
      [
        'targets:',
        '  - name: shop-db',
        '    url: ${SHOP_DB_URL}',
        '    service: shop',
        `    log: ${logDir}`,
        '    logFormat: jsonlog',
        '    interval: 250ms',
        'services:',
        '  - name: shop',
        '',
      ].join('\n'),
    );
    a = await db.connect({ applicationName: 'checkout' });
    b = await db.connect({ applicationName: 'restock' });
  });

  afterAll(async () => {
    await Promise.allSettled([a.end(), b.end()]);
    await serve?.stop();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it.runIf(inject('pgLogDirectory'))('loses no committed row and opens no second incident', async () => {
    serve = new ServeProcess(args(), env());
    await serve.ready();
    const first = serve;

    await makeDeadlock(a, b);
    const incident = await eventually(async () => {
      const { body } = await first.api<{ incidents: IncidentJson[] }>('/api/v1/incidents?state=open', {
        token,
      });
      return body.incidents.find((i) => i.service === 'shop');
    }, 'an incident for the first deadlock');
    // A few more, each seen, then the crash while the next ones are still happening.
    for (let i = 0; i < 3; i++) await makeDeadlock(a, b);
    const before = await eventually(async () => {
      const detail = await deadlockEvidence(first, incident.id);
      return detail.evidence.filter((f) => f.kind === 'deadlock').length >= 4 ? detail : undefined;
    }, 'four deadlocks in the incident');
    const burst = makeDeadlock(a, b).then(() => makeDeadlock(a, b));
    first.child.kill('SIGKILL');
    await burst;
    if (first.child.signalCode === null) await new Promise((resolve) => first.child.once('exit', resolve));

    serve = new ServeProcess(args(), env());
    await serve.ready();
    const second = serve;
    const after = await deadlockEvidence(second, incident.id);
    // Every finding committed before the kill is there.
    expect(after.evidence.map((f) => f.id)).toEqual(expect.arrayContaining(before.evidence.map((f) => f.id)));

    // New deadlocks join the same incident: one incident, opened once.
    await makeDeadlock(a, b);
    await eventually(async () => {
      const detail = await deadlockEvidence(second, incident.id);
      return detail.evidence.filter((f) => f.kind === 'deadlock').length >
        after.evidence.filter((f) => f.kind === 'deadlock').length
        ? true
        : undefined;
    }, 'the deadlock after the restart in the same incident');
    const { body } = await second.api<{ incidents: IncidentJson[] }>('/api/v1/incidents?state=all', {
      token,
    });
    expect(body.incidents.filter((i) => i.service === 'shop').map((i) => i.id)).toEqual([incident.id]);
    const final = await deadlockEvidence(second, incident.id);
    expect(final.timeline.filter((e) => e.kind === 'opened')).toHaveLength(1);
    const ids = final.evidence.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await second.stop()).toBe(0);
  });
});
