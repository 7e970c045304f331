import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { renderHtml } from '../../../src/analyze/html-report.js';
import { renderMarkdown } from '../../../src/analyze/markdown-report.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';
import { renderText } from '../../../src/analyze/text-report.js';

const log = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze/recorded/postgresql.log');
const report = await runAnalysis(parseAnalyzeOptions([log], { progress: false, jobs: '0' }), {
  stderr: process.stderr,
});

describe('report outputs', () => {
  it('text: the headline first, then causes (deadlocks, blocking) before symptoms (slow queries)', () => {
    const text = renderText(report, { color: false });
    const at = (heading: string): number => text.indexOf(`\n${heading}  `);
    expect(text.split('\n')[3]).toMatch(/^» 6 deadlocks between /);
    expect(at('DEADLOCKS')).toBeGreaterThan(0);
    expect(at('DEADLOCKS')).toBeLessThan(at('BLOCKING'));
    expect(at('BLOCKING')).toBeLessThan(at('ERRORS'));
    expect(at('ERRORS')).toBeLessThan(at('SLOW QUERIES'));
    expect(text).toMatch(/UPDATE inventory SET qty = \$1 WHERE id = \$2 \[victim 2× of lock waits/);
    expect(text.includes('\u001b[')).toBe(false);
  });

  it('markdown: tables with escaped cells', () => {
    const md = renderMarkdown(report);
    expect(md).toMatch(/^# PostgreSQL log analysis/);
    expect(md).toMatch(/\n## Deadlocks: 6\n/);
    expect(md).toMatch(
      /\| 1 \| 6 \| .* \| ShareLock on products \| `UPDATE inventory SET qty = qty \+ \$1 WHERE id = \$2`<br>`UPDATE products/,
    );
  });

  it('html: one page that needs no network, with the charts library and the report inlined', async () => {
    const html = await renderHtml(report);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toMatch(/<script>[^<]*uPlot/);
    expect(html.match(/<\/script>/g)?.length).toBe(html.match(/<script[ >]/g)?.length);
    const embedded = /<script type="application\/json" id="report">(.*?)<\/script>/s.exec(html)?.[1] ?? '';
    expect(JSON.parse(embedded)).toEqual(JSON.parse(JSON.stringify(report)));
    const series = JSON.parse(
      /<script type="application\/json" id="series">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}',
    ) as { deadlocks: number[] };
    expect(series.deadlocks.reduce((a, b) => a + b, 0)).toBe(6);
  });
});

describe('headline wording', () => {
  it('one victim is "was a victim", several "were victims"', async () => {
    const { buildHeadline } = await import('../../../src/analyze/headline.js');
    const withVictims = (victims: number): string =>
      buildHeadline({
        ...report,
        slowQueries: { ...report.slowQueries, lockWaitMs: 1000, lockWaitShare: 0.5, victims },
      }).join('\n');
    expect(withVictims(1)).toContain('(1 slow statement was a victim of a lock wait');
    expect(withVictims(2)).toContain('(2 slow statements were victims of a lock wait');
  });
});
