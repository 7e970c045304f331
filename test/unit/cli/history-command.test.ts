import { describe, expect, it } from 'vitest';
import { printHistory } from '../../../src/cli/commands/history-run.js';
import { reportError } from '../../../src/cli/report-error.js';
import { parseHistoryOptions } from '../../../src/config/history-options.js';
import { createApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { deadlock, episode } from '../../contract/store-fixtures.js';

const DAY = 86_400_000;

function cli(h: ApiHarness) {
  let out = '';
  const io = {
    stdout: { write: (chunk: string) => ((out += chunk), true) } as unknown as NodeJS.WritableStream,
    fetch: ((input: string | URL | Request, init?: RequestInit) =>
      h.app.request(input, init)) as typeof fetch,
    now: h.clock.now(),
  };
  return {
    io,
    flags: { server: 'http://hindsight.test', token: h.secrets.viewer, json: false },
    out: () => out,
  };
}

describe('hindsight history TARGET', () => {
  it('prints every finding of the window, oldest first, with a tally; --kind filters; --json; pages through the cursor', async () => {
    const h = await createApiHarness();
    const now = h.clock.now();
    const many = Array.from({ length: 1_005 }, (_, i) =>
      deadlock(`d${String(i).padStart(4, '0')}`, now - 2 * DAY + i),
    );
    await h.store.findings.save(
      [
        ...many,
        episode('e1', now - DAY, now - DAY + 5_000),
        deadlock('old', now - 30 * DAY),
        deadlock('x', now - DAY, { target: 'other-db' }),
      ],
      now,
    );
    const c = cli(h);
    await printHistory('shop-db', { ...c.flags, since: '7d', limit: '5000' }, c.io);
    const lines = c.out().trimEnd().split('\n');
    expect(lines[0]).toBe(
      `1006 findings on shop-db since ${new Date(now - 7 * DAY).toISOString()}: 1005 deadlock, 1 blocking episode`,
    );
    expect(lines).toHaveLength(1 + 1_006);
    expect(lines[1]).toMatch(/^\d{4}-\d{2}-\d{2} .*DEADLOCK in shop/);

    const j = cli(h);
    await printHistory(
      'shop-db',
      { ...j.flags, since: '40d', kind: 'deadlock', limit: '2', json: true },
      j.io,
    );
    const body = JSON.parse(j.out()) as { findings: { id: string }[] };
    expect(body.findings.map((f) => f.id)).toEqual(['old', 'd0000']);

    // The default limit (1000) cuts it, and says so.
    const cut = cli(h);
    await printHistory('shop-db', { ...cut.flags, since: '7d' }, cut.io);
    expect(cut.out().trimEnd().split('\n').at(-1)).toBe('(more: raise --limit or narrow --since/--until)');

    // A known target (in the catalog) with nothing in the window; a name nobody knows is an error.
    await h.store.targets.save({
      name: 'shop-db',
      redactedUrl: 'postgres://u:***@db/shop',
      service: 'shop',
      log: null,
      rules: {},
    });
    const none = cli(h);
    await printHistory('shop-db', { ...none.flags, since: '1h' }, none.io);
    expect(none.out()).toMatch(/^nothing found on shop-db since /);
    const typo = cli(h);
    await expect(printHistory('shop-dbb', { ...typo.flags, since: '1h' }, typo.io)).rejects.toMatchObject({
      code: 'TARGET_NOT_FOUND',
      message: expect.stringContaining('no target named "shop-dbb"') as unknown,
    });
    expect(typo.out()).toBe('');
  });

  it('--metric prints a series over the window (host figures too), --json as the API answers it', async () => {
    const h = await createApiHarness();
    const now = h.clock.now();
    const at = Math.floor((now - 60_000) / 10_000) * 10_000;
    await h.store.metrics.savePoints([
      {
        target: 'shop-db',
        at,
        resolutionMs: 10_000,
        samples: 10,
        values: { host_cpu_busy: 0.91, commits: 3 },
      },
      { target: 'shop-db', at: at + 10_000, resolutionMs: 10_000, samples: 10, values: { commits: 4 } },
    ]);
    const c = cli(h);
    await printHistory('shop-db', { ...c.flags, since: '1h', metric: 'host_cpu_busy' }, c.io);
    expect(c.out().split('\n')).toEqual([
      `host_cpu_busy on shop-db: 1 points at 10 s since ${new Date(now - 3_600_000).toISOString()}`,
      `${new Date(at).toISOString()} 0.91`,
      '',
    ]);
    const j = cli(h);
    await printHistory('shop-db', { ...j.flags, since: '1h', metric: 'commits', json: true }, j.io);
    expect(JSON.parse(j.out())).toMatchObject({
      target: 'shop-db',
      metric: 'commits',
      resolutionMs: 10_000,
      points: [
        { at, value: 3 },
        { at: at + 10_000, value: 4 },
      ],
    });
    const bad = cli(h);
    await expect(
      printHistory('shop-db', { ...bad.flags, metric: 'cpu_magic', kind: 'deadlock' }, bad.io),
    ).rejects.toThrow(/--metric: unknown "cpu_magic"[^]*--kind lists findings/);
  });

  it('names every bad option at once', () => {
    let line = '';
    try {
      parseHistoryOptions('shop db', { token: 't', since: 'last week', kind: 'deadlocks' }, 0, {});
    } catch (error) {
      reportError(error, (l) => (line += l));
    }
    expect(line).toContain('TARGET must be');
    expect(line).toContain('--since must be a duration');
    expect(line).toContain('--kind: unknown deadlocks');
  });
});
