import { describe, expect, it } from 'vitest';
import {
  findingHistoryReplySchema,
  seriesReplySchema,
  statementsReplySchema,
} from '../../../src/api/schemas/metrics-schemas.js';
import type { SeriesPoint } from '../../../src/core/metrics-series.js';
import { createApiHarness } from '../../support/api-harness.js';
import { deadlock, episode } from '../../contract/store-fixtures.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

describe('history routes: series, top statements, findings', () => {
  it('answers a 24 h series at 10 s and a week at 1 h, to a viewer token only', async () => {
    const h = await createApiHarness();
    const now = h.clock.now();
    const at = Math.floor((now - 30 * MIN) / 10_000) * 10_000;
    const point = (t: number, resolutionMs: number, commits: number): SeriesPoint => ({
      target: 'shop-db',
      at: t,
      resolutionMs,
      samples: 10,
      values: { commits, blocks_hit: 90, blocks_read: 10 },
    });
    await h.store.metrics.savePoints([
      point(at, 10_000, 7),
      point(at + 10_000, 10_000, 3),
      point(Math.floor((now - 3 * DAY) / 3_600_000) * 3_600_000, 3_600_000, 100),
    ]);

    expect((await h.call('GET', '/api/v1/targets/shop-db/series?metric=commits')).status).toBe(401);
    const day = await h.call('GET', `/api/v1/targets/shop-db/series?metric=commits&from=${now - DAY}`, {
      token: h.secrets.viewer,
    });
    expect(day.status).toBe(200);
    const parsed = seriesReplySchema.parse(day.body);
    expect(parsed).toMatchObject({ target: 'shop-db', metric: 'commits', resolutionMs: 10_000, to: now });
    expect(parsed.points).toEqual([
      { at, value: 7 },
      { at: at + 10_000, value: 3 },
    ]);
    const ratio = seriesReplySchema.parse(
      (
        await h.call(
          'GET',
          `/api/v1/targets/shop-db/series?metric=cache_hit_ratio&from=${new Date(now - DAY).toISOString()}`,
          { token: h.secrets.viewer },
        )
      ).body,
    );
    expect(ratio.points[0]?.value).toBeCloseTo(0.9);
    const week = seriesReplySchema.parse(
      (
        await h.call('GET', `/api/v1/targets/shop-db/series?metric=commits&from=${now - 7 * DAY}`, {
          token: h.secrets.viewer,
        })
      ).body,
    );
    expect(week.resolutionMs).toBe(3_600_000);
    // The hour point, then the newest part (not rolled up yet) from the finer tiers.
    expect(week.points.map((p) => p.value)).toEqual([100, 7, 3]);
  });

  it('refuses an unknown metric, a bad time and an empty window, saying what to give', async () => {
    const h = await createApiHarness();
    const token = h.secrets.viewer;
    const unknown = await h.call('GET', '/api/v1/targets/shop-db/series?metric=cpu_magic', { token });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('query.metric');
    const badTime = await h.call('GET', '/api/v1/targets/shop-db/series?metric=commits&from=yesterday', {
      token,
    });
    expect(badTime.status).toBe(400);
    expect(badTime.text).toContain('ISO 8601');
    const backwards = await h.call('GET', '/api/v1/targets/shop-db/statements?from=2000&to=1000', { token });
    expect(backwards.status).toBe(400);
    expect(backwards.text).toContain('is not before to');
  });

  it('answers 404 naming the target for a name nobody knows, and an empty series for a quiet known one', async () => {
    const h = await createApiHarness();
    const token = h.secrets.viewer;
    for (const path of ['series?metric=commits', 'statements']) {
      const reply = await h.call('GET', `/api/v1/targets/shop-dbb/${path}`, { token });
      expect(reply.status).toBe(404);
      expect(reply.body).toMatchObject({ code: 'TARGET_NOT_FOUND' });
      expect(JSON.stringify(reply.body)).toContain('no target named \\"shop-dbb\\"');
    }
    await h.store.targets.save({
      name: 'quiet-db',
      redactedUrl: 'postgres://u:***@db/quiet',
      service: 'shop',
      log: null,
      rules: {},
    });
    const quiet = await h.call('GET', '/api/v1/targets/quiet-db/series?metric=commits', { token });
    expect(quiet.status).toBe(200);
    expect(seriesReplySchema.parse(quiet.body).points).toEqual([]);
  });

  it('sums the top statements of a window per query id, largest total time first', async () => {
    const h = await createApiHarness();
    const now = h.clock.now();
    // Statements are kept per minute (DEFAULT_STATEMENTS_RESOLUTION_MS).
    const at = Math.floor((now - 5 * MIN) / MIN) * MIN;
    const st = (t: number, queryId: string, totalExecMs: number, calls: number) => ({
      target: 'shop-db',
      at: t,
      resolutionMs: MIN,
      queryId,
      query: `SELECT ${queryId}`,
      calls,
      totalExecMs,
      rows: calls,
    });
    await h.store.metrics.saveStatements([
      st(at, '1', 30, 3),
      st(at + MIN, '1', 30, 1),
      st(at, '2', 50, 10),
      st(at, '3', 1, 1),
    ]);
    const reply = await h.call('GET', '/api/v1/targets/shop-db/statements?limit=2', {
      token: h.secrets.viewer,
    });
    expect(reply.status).toBe(200);
    expect(statementsReplySchema.parse(reply.body).statements).toEqual([
      { queryId: '1', query: 'SELECT 1', calls: 4, totalExecMs: 60, meanExecMs: 15, rows: 4 },
      { queryId: '2', query: 'SELECT 2', calls: 10, totalExecMs: 50, meanExecMs: 5, rows: 10 },
    ]);
  });

  it('lists findings of the past by target, kind and window, a page at a time', async () => {
    const h = await createApiHarness();
    const now = h.clock.now();
    await h.store.findings.save(
      [
        deadlock('d1', now - 3 * DAY),
        deadlock('d2', now - 2 * MIN),
        deadlock('d3', now - MIN),
        episode('e1', now - 90_000, now - 80_000),
        deadlock('d4', now - MIN, { target: 'other-db' }),
      ],
      now,
    );
    const token = h.secrets.viewer;
    const first = findingHistoryReplySchema.parse(
      (await h.call('GET', '/api/v1/findings?target=shop-db&kind=deadlock&limit=1', { token })).body,
    );
    expect(first.findings.map((f) => f.id)).toEqual(['d2']);
    expect(first.next).not.toBeNull();
    const second = findingHistoryReplySchema.parse(
      (
        await h.call(
          'GET',
          `/api/v1/findings?target=shop-db&kind=deadlock&limit=1&after=${first.next ?? ''}`,
          { token },
        )
      ).body,
    );
    expect(second.findings.map((f) => f.id)).toEqual(['d3']);
    const old = findingHistoryReplySchema.parse(
      (await h.call('GET', `/api/v1/findings?since=${now - 7 * DAY}&until=${now - DAY}`, { token })).body,
    );
    expect(old).toEqual({ findings: [expect.objectContaining({ id: 'd1' })], next: null });
    const all = findingHistoryReplySchema.parse(
      (await h.call('GET', '/api/v1/findings?kind=deadlock,blocking_episode', { token })).body,
    );
    expect(all.findings.map((f) => f.id)).toEqual(['d2', 'e1', 'd3', 'd4']);
    const bad = await h.call('GET', '/api/v1/findings?kind=deadlocks', { token });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('unknown finding kind deadlocks');
  });
});
