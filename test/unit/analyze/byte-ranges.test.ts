import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../../src/analyze/analysis-report.js';
import { createState, mergeState } from '../../../src/analyze/analysis-state.js';
import { entryStartTest, findEntryStart } from '../../../src/analyze/entry-boundaries.js';
import { analyzeRanges, type RangeJob } from '../../../src/analyze/range-analysis.js';
import type { LogFormat } from '../../../src/postgres-log/log-format.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze/recorded');
const PREFIX = '%m [%p] %q%u@%d/%a ';
const window = { since: null, until: null };

/** Analyzes the file cut at `cuts` (fractions of its size), as worker threads would, and merges. */
async function analyzeInRanges(
  file: string,
  format: LogFormat,
  fractions: readonly number[],
  lookback: number,
) {
  const path = join(dir, file);
  const size = statSync(path).size;
  const input = { name: file, size, gzip: false, path };
  const prefix = format === 'stderr' ? PREFIX : null;
  const isStart = entryStartTest(format, prefix);
  const cuts = [0];
  for (const fraction of [...fractions].sort((a, b) => a - b)) {
    const cut = await findEntryStart(path, Math.floor(size * fraction), isStart);
    if (cut !== null && cut > (cuts.at(-1) ?? 0) && cut < size) cuts.push(cut);
  }
  const state = createState();
  for (let i = 0; i < cuts.length; i++) {
    const start = cuts[i] ?? 0;
    const end = cuts[i + 1] ?? size;
    const lookbackStart =
      start === 0 ? 0 : ((await findEntryStart(path, Math.max(0, start - lookback), isStart)) ?? start);
    const job: RangeJob = {
      input,
      format,
      prefix,
      lookbackStart: Math.min(start, lookbackStart),
      start,
      end,
      lookaheadEnd: size,
      window,
    };
    mergeState(state, (await analyzeRanges([job])).state);
  }
  return { report: buildReport(state, { inputs: [], since: null, until: null }), ranges: cuts.length };
}

describe.each([
  ['postgresql.log', 'stderr'],
  ['postgresql.csv', 'csvlog'],
  ['postgresql.json', 'jsonlog'],
] as const)('byte ranges of %s', (file, format) => {
  it('cut anywhere at entry starts, with lookback and lookahead, give the report of the whole file', async () => {
    const { report: whole } = await analyzeInRanges(file, format, [], 0);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0.01, max: 0.99, noNaN: true }), { minLength: 1, maxLength: 4 }),
        async (fractions) => {
          const { report, ranges } = await analyzeInRanges(file, format, fractions, 1 << 20);
          expect(ranges).toBeGreaterThan(1);
          expect(report).toEqual(whole);
        },
      ),
      { numRuns: 8 },
    );
  });

  it('finds entry starts: a cut never falls inside an entry', async () => {
    const path = join(dir, file);
    const isStart = entryStartTest(format, format === 'stderr' ? PREFIX : null);
    const cut = await findEntryStart(path, 1, isStart);
    expect(cut).not.toBeNull();
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(path);
    const line = text.subarray(cut ?? 0, text.indexOf(10, cut ?? 0)).toString('utf8');
    expect(isStart(line)).toBe(true);
    expect(line.startsWith('\t')).toBe(false);
  });
});
