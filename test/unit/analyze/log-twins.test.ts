import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';

// Issue 11, item 10: log_destination = 'stderr,csvlog,jsonlog' writes every entry three times;
// given together, the files must be counted once, and the report must say so.
const dir = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze/recorded');
const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as { deadlocks: number };
const analyze = (...files: string[]) =>
  runAnalysis(
    parseAnalyzeOptions(
      files.map((f) => join(dir, f)),
      { progress: false, jobs: '0' },
    ),
    { stderr: process.stderr },
  );

describe('the same server log in several formats', () => {
  it('stderr + csvlog + jsonlog given together: every entry counted once, from the jsonlog, with a note', async () => {
    const alone = await analyze('postgresql.json');
    const together = await analyze('postgresql.log', 'postgresql.csv', 'postgresql.json');
    expect(together.deadlocks.total).toBe(truth.deadlocks);
    expect(together.entries).toBe(alone.entries);
    expect(together.errors.total).toBe(alone.errors.total);
    expect(together.inputs.map((i) => i.name)).toEqual([join(dir, 'postgresql.json')]);
    const note = together.inputs[0]?.warnings[0] ?? '';
    expect(note).toContain(`${join(dir, 'postgresql.log')} (stderr)`);
    expect(note).toContain(`${join(dir, 'postgresql.csv')} (csvlog)`);
    expect(note).toMatch(/same entries as .*postgresql\.json \(jsonlog\).*counted once/);
  });

  it('one file given twice is counted once', async () => {
    const twice = await analyze('postgresql.csv', 'postgresql.csv');
    expect(twice.deadlocks.total).toBe(truth.deadlocks);
  });

  it('different logs (another server, another run) are still added up', async () => {
    const other = join(dir, '../recorded-pg15/postgresql.log');
    const both = await runAnalysis(
      parseAnalyzeOptions([join(dir, 'postgresql.log'), other], { progress: false, jobs: '0' }),
      { stderr: process.stderr },
    );
    expect(both.inputs).toHaveLength(2);
    expect(both.deadlocks.total).toBeGreaterThan(truth.deadlocks);
  });
});
