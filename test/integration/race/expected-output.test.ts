import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everyInterleaving, isolationTesterOutput, unifiedDiff } from '../../../src/race/isolation-output.js';
import { loadSpecFile } from '../../../src/race/spec-loader.js';
import { runCli } from '../../support/cli-process.js';
import { adminUrl, createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';

// Issue 14 item 5: with --expected, race runs the listed permutations, prints the isolation
// tester's output (expected errors included) and diffs it with the expected file.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('race_expected');
});
afterAll(async () => {
  await db.drop();
});

const fixture = (name: string): string => join(import.meta.dirname, '../../fixtures/race', name);

describe('race --expected (the isolation tester output, compared)', () => {
  it('a deadlock victim chosen by deadlock_timeout, the waiter completing, NOWAIT, then rows', async () => {
    const spec = await loadSpecFile(fixture('expected-deadlock.spec'));
    const actual = await isolationTesterOutput(spec, { url: db.url });
    const expected = await readFile(fixture('expected-deadlock.out'), 'utf8');
    expect(unifiedDiff(expected, actual, ['expected', 'actual'])).toBe('');
    expect(actual).toContain('ERROR:  deadlock detected\nstep s1_credit: <... completed>');
  });

  it('prints waits, completions, constraint errors and rows exactly as the expected file has them', async () => {
    const spec = await loadSpecFile(fixture('expected-errors.spec'));
    const actual = await isolationTesterOutput(spec, { url: db.url });
    const expected = await readFile(fixture('expected-errors.out'), 'utf8');
    expect(unifiedDiff(expected, actual, ['expected', 'actual'])).toBe('');
    expect(actual).toContain('step s2_insert: INSERT INTO children VALUES (10, 2); <waiting ...>');
    expect(actual).toContain(
      'ERROR:  insert or update on table "children" violates foreign key constraint "children_parent_fkey"',
    );
  });

  it('exits 0 when identical, 1 with a unified diff when the expected file differs, 2 without permutations', async () => {
    const spec = fixture('expected-errors.spec');
    const good = fixture('expected-errors.out');
    const same = await runCli(['race', '--db', adminUrl(), '--expected', good, spec], { timeoutMs: 60_000 });
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);

    const dir = await mkdtemp(join(tmpdir(), 'race-expected-'));
    const changed = join(dir, 'changed.out');
    const text = await readFile(good, 'utf8');
    await writeFile(changed, text.replace('"children_pkey"', '"children_id_key"'));
    const differs = await runCli(['race', '--db', adminUrl(), '--expected', changed, spec], {
      timeoutMs: 60_000,
    });
    expect(differs.code).toBe(1);
    expect(differs.stdout).toContain(`--- ${changed}`);
    expect(differs.stdout).toContain(
      '-ERROR:  duplicate key value violates unique constraint "children_id_key"',
    );
    expect(differs.stdout).toContain(
      '+ERROR:  duplicate key value violates unique constraint "children_pkey"',
    );

    const noPermutations = await runCli(
      ['race', '--db', adminUrl(), '--expected', good, fixture('lost-update.yaml')],
      { timeoutMs: 60_000 },
    );
    expect(noPermutations.code).toBe(2);
    expect(noPermutations.stderr).toContain('RACE_NO_PERMUTATIONS');
  }, 120_000);
});

describe('everyInterleaving (a .spec without permutation lines)', () => {
  it("gives every interleaving of the sessions' steps in the tester's order", async () => {
    const spec = await loadSpecFile(fixture('expected-errors.spec'));
    const all = everyInterleaving(spec).map((p) => p.map((e) => e.step).join(' '));
    expect(all).toHaveLength(20);
    expect(all.slice(0, 3)).toEqual([
      's1_insert s1_delete s1_commit s2_insert s2_select s2_commit',
      's1_insert s1_delete s2_insert s1_commit s2_select s2_commit',
      's1_insert s1_delete s2_insert s2_select s1_commit s2_commit',
    ]);
    expect(all.at(-1)).toBe('s2_insert s2_select s2_commit s1_insert s1_delete s1_commit');
  });
});

describe('unifiedDiff', () => {
  it('gives hunks with context and line numbers', () => {
    const a = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n');
    const b = ['a', 'b', 'c', 'd', 'X', 'f', 'g', 'h', 'i', 'j'].join('\n');
    expect(unifiedDiff(a, b, ['x', 'y'])).toBe(
      ['--- x', '+++ y', '@@ -2,7 +2,7 @@', ' b', ' c', ' d', '-e', '+X', ' f', ' g', ' h', ''].join('\n'),
    );
    expect(unifiedDiff(a, a, ['x', 'y'])).toBe('');
  });
});
