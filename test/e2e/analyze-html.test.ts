import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-process.js';
import { chromiumAvailable, launchChromium } from '../support/headless-chromium.js';

// The HTML report as a person sees it: opened from disk, offline, in real headless Chromium.
describe.runIf(chromiumAvailable() || process.env.CI)('hindsight analyze --html in Chromium', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hindsight-html-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renders the headline and three charts: minutes of UTC time across, counts from zero up', async () => {
    const page = join(dir, 'report.html');
    const result = await runCli(['analyze', 'test/fixtures/analyze/recorded/postgresql.log', '--html', page]);
    expect(result.code, result.stderr).toBe(0);

    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      const failed: string[] = [];
      tab.on('requestfailed', (r) => failed.push(r.url()));
      tab.on('pageerror', (e) => failed.push(e.message));
      await tab.goto(pathToFileURL(page).href);
      await expect.poll(() => tab.locator('canvas').count()).toBe(3);
      expect(await tab.locator('body').innerText()).toMatch(/6 deadlocks between/);
      // uPlot draws its axes on the canvas: read the x scale it chose. One minute of data must
      // give an axis of minutes, not the years uPlot picks on its own around a single point.
      type Chart = {
        scales: Record<string, { min: number; max: number } | undefined>;
        axes: { _values?: string[] | null }[];
      };
      const charts = await tab.evaluate(() =>
        (globalThis as unknown as { hindsightCharts: Chart[] }).hindsightCharts.map((c) => ({
          xSpan: (c.scales.x?.max ?? 0) - (c.scales.x?.min ?? 0),
          yMin: c.scales.y?.min,
          y2Min: c.scales.y2?.min ?? null,
          labels: c.axes[0]?._values ?? [],
        })),
      );
      expect(charts).toHaveLength(3);
      for (const chart of charts) {
        expect(chart.xSpan).toBeLessThanOrEqual(3600);
        // Counts drawn from zero, so a bar's height is its count; times in UTC like the report.
        expect(chart.yMin).toBe(0);
        if (chart.y2Min !== null) expect(chart.y2Min).toBe(0);
        expect(chart.labels.length).toBeGreaterThan(1);
        for (const label of chart.labels) expect(label).toMatch(/^\d\d:\d\d$/);
        expect(new Set(chart.labels).size).toBe(chart.labels.length); // whole minutes: no label twice
      }
      expect(failed).toEqual([]); // self-contained: nothing fetched, no script error
    } finally {
      await browser.close();
    }
  });
});
