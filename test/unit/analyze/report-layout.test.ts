import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { renderHtml } from '../../../src/analyze/html-report.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';
import { renderText, spanCells } from '../../../src/analyze/text-report.js';

// Issue 11, item 11: the recorded workload (one busy minute), and the same again 163 minutes
// later: a 164-minute span with two busy minutes and a long silence between them.
const recorded = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze/recorded/postgresql.log'),
  'utf8',
);
const later = recorded.replaceAll('2026-11-23 23:49:', '2026-11-24 02:32:');
const work = mkdtempSync(join(tmpdir(), 'hindsight-layout-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});
const file = join(work, 'two-bursts.log');
writeFileSync(file, recorded + later);
const report = await runAnalysis(parseAnalyzeOptions([file], { progress: false, jobs: '0' }), {
  stderr: process.stderr,
});

describe('a report over a long span with gaps', () => {
  it('spanCells: every minute of the span, in named cells that fit the width; silent cells are null', () => {
    const { cells, minutes } = spanCells([
      ['2026-11-23T23:49:00.000Z', 3],
      ['2026-11-24T02:32:00.000Z', 4],
    ]);
    expect(minutes).toBe(5);
    expect(cells).toHaveLength(33);
    expect(cells[0]).toBe(3);
    expect(cells.at(-1)).toBe(4);
    expect(cells.slice(1, -1).every((c) => c === null)).toBe(true);
  });

  it('text: the timeline says its cell size and covers the whole span (33 cells of 5 minutes, not 2 "per minute")', () => {
    const text = renderText(report, { color: false });
    expect(text).toMatch(
      /\nTIMELINE {2}per 5 minutes \(one cell = 5 minutes; blank: no log entry at all\), 2026-11-23 23:49:00 UTC → 2026-11-24 02:32:00 UTC\n/,
    );
    const entries = /\n {2}entries {4}(.*)\n/.exec(text)?.[1] ?? '';
    expect(entries).toHaveLength(33);
    expect(entries.trim()).toHaveLength(33); // a burst at each end
    expect(entries.slice(1, -1).trim()).toBe(''); // silence in between, drawn as silence
    expect(text).toMatch(/ {6}per 5 minutes [^\n]{33}\n/); // the deadlock group too
  });

  it('html: headline without literal backticks, top blocker in it, causes before the charts, gaps as gaps', async () => {
    const html = await renderHtml(report);
    const headline = /<section class="headline">(.*?)<\/section>/s.exec(html)?.[1] ?? '';
    expect(headline).not.toContain('`');
    expect(headline).toContain('<code>UPDATE inventory SET qty = qty + $1 WHERE id = $2</code>');
    expect(headline).toMatch(/top blocker: pid \d+ \(report\) held up/);
    const at = (needle: string): number => html.indexOf(needle);
    for (const cause of ['<h2>Deadlocks', '<h2>Blocking', '<h2>Slow queries'])
      expect(at(cause)).toBeLessThan(at('id="chart-events"'));
    const series = JSON.parse(
      /<script type="application\/json" id="series">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}',
    ) as { minutes: number[]; entries: (number | null)[]; deadlocks: (number | null)[] };
    expect(series.minutes).toHaveLength(164);
    expect(series.minutes[1]! - series.minutes[0]!).toBe(60);
    expect(series.entries.slice(1, -1).every((v) => v === null)).toBe(true);
    expect(series.deadlocks[0]).toBe(6);
    expect(series.deadlocks.at(-1)).toBe(6);
  });
});
