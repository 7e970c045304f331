import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../../src/analyze/analysis-report.js';
import { parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { entryStartTest, findEntryStart } from '../../../src/analyze/entry-boundaries.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';
import type { LogFormat } from '../../../src/postgres-log/log-format.js';

const recorded = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze/recorded');
const PREFIX = '%m [%p] %q%u@%d/%a ';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hindsight-rotated-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
});

const analyze = (files: readonly string[], jobs: string): Promise<AnalysisReport> =>
  runAnalysis(parseAnalyzeOptions([...files], { progress: false, jobs }), {
    stderr: process.stderr,
    splitMinBytes: 1,
  });

/** The report without its input list (file names and sizes differ between the two readings). */
const counted = (report: AnalysisReport) => ({ ...report, inputs: [] });

// A day of rotated logs is one run of files: shared out to two worker threads, cut anywhere (or,
// gzipped, file by file), it must give the report one reader gives the file they were cut from —
// waits open at the end of one file end in the next, whichever worker reads what.
describe.each([
  ['postgresql.log', 'stderr'],
  ['postgresql.csv', 'csvlog'],
  ['postgresql.json', 'jsonlog'],
] as const)('%s cut into rotated files', (file, format: LogFormat) => {
  // Retried: once in CI (2026-11-30, csvlog) a run hung until the timeout — never a wrong report; the
  // cause is not found yet (40 runs of the same analysis outside Vitest never hung). A wrong report
  // fails every try.
  it(
    'gives the same report from two workers as the whole file from one reader',
    { timeout: 60_000, retry: 2 },
    async () => {
      const whole = counted(await analyze([join(recorded, file)], '0'));
      const text = await readFile(join(recorded, file));
      const isStart = entryStartTest(format, format === 'stderr' ? PREFIX : null);
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.double({ min: 0.02, max: 0.98, noNaN: true }), { minLength: 1, maxLength: 5 }),
          async (fractions) => {
            const cuts = [0];
            for (const fraction of [...fractions].sort((a, b) => a - b)) {
              const cut = await findEntryStart(
                join(recorded, file),
                Math.floor(text.length * fraction),
                isStart,
              );
              if (cut !== null && cut > (cuts.at(-1) ?? 0)) cuts.push(cut);
            }
            cuts.push(text.length);
            const pieces: string[] = [];
            const gzipped: string[] = [];
            for (let i = 0; i + 1 < cuts.length; i++) {
              const piece = join(dir, `${format}-${fractions.join('-')}-${i}`);
              const bytes = text.subarray(cuts[i], cuts[i + 1]);
              await writeFile(piece, bytes);
              await writeFile(`${piece}.gz`, gzipSync(bytes));
              pieces.push(piece);
              gzipped.push(`${piece}.gz`);
            }
            const report = await analyze(pieces, '2');
            expect(report.inputs.map((i) => i.bytes).reduce((a, b) => a + b, 0)).toBe(text.length);
            expect(counted(report)).toEqual(whole);
            // Compressed, the same files are shared out whole, each share reading the end of the
            // file before it and the start of the one after it.
            if (gzipped.length >= 2) expect(counted(await analyze(gzipped, '2'))).toEqual(whole);
          },
        ),
        { numRuns: 4 }, // each run starts two worker threads (through tsx here, ~1 s each)
      );
    },
  );
});
