import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everyInterleaving, isolationTesterOutput, unifiedDiff } from '../../../src/race/isolation-output.js';
import { parseIsolationSpec } from '../../../src/race/isolation-spec-parser.js';
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

  // Our own specs in the tester's style, one behaviour each; the .out files are what the
  // isolation tester prints for them (read against isolationtester.c, not generated blindly).
  it.each([
    [
      'deadlock-ring-victim',
      'step till_next: <... completed>\nERROR:  deadlock detected\nstep gus_next: <... completed>',
    ],
    ['soft-deadlock-queued', 'step picker_shelf: <... completed>\nstep picker_commit: COMMIT;'],
    ['notices', 'agent: NOTICE:  claiming ticket 1\nstep agent_claim: SELECT claim(1); <waiting ...>'],
    [
      'parallel-slow',
      'step report_sum: SELECT count(*) FROM reading WHERE slow_check(id);\ncount\n-----\n 1000',
    ],
    ['parallel-soft-deadlock', 'step a_scan: <... completed>'],
    // The server's deadlock_timeout, not race's: the first waiter is the victim, as under the tester.
    [
      'deadlock-first-waiter',
      'step s1_take2: <... completed>\nERROR:  deadlock detected\nstep s2_take1: <... completed>',
    ],
    ['lock-timeout', 'ERROR:  could not obtain lock on row in relation "jobs"'],
    [
      'lock-upgrade',
      'step auditor_rebuild: LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE;\nERROR:  deadlock detected',
    ],
  ])(
    '%s.spec prints exactly its .out',
    async (name, excerpt) => {
      const spec = await loadSpecFile(fixture(`${name}.spec`));
      const actual = await isolationTesterOutput(spec, { url: db.url });
      const expected = await readFile(fixture(`${name}.out`), 'utf8');
      expect(unifiedDiff(expected, actual, ['expected', 'actual'])).toBe('');
      expect(actual).toContain(excerpt);
    },
    60_000,
  );

  it('notices: printed when the tester reads the session, and (step notices N) holds a step until then', async () => {
    const out = await isolationTesterOutput(await loadSpecFile(fixture('notices.spec')), { url: db.url });
    const permutations = out.split('\nstarting permutation: ').slice(1);
    // A warning of a step that runs comes before its line.
    expect(permutations[0]).toContain('desk: WARNING:  desk closes soon\nstep desk_warn:');
    // watch finished at once but waits for agent's second notice, printed when agent completes.
    expect(permutations[1]).toContain('step watch: SELECT state FROM ticket WHERE id = 1; <waiting ...>');
    expect(permutations[1]).toContain(
      'agent: NOTICE:  ticket 1 is ours\nstep agent_claim: <... completed>\nclaim  \n-------\nclaimed\n(1 row)\n\nstep watch: <... completed>\nstate\n-----\nopen ',
    );
    // (*): printed waiting without reading the session, so both notices come with its completion.
    expect(permutations[2]).toContain(
      'step desk_commit: COMMIT;\nagent: NOTICE:  claiming ticket 1\nagent: NOTICE:  ticket 1 is ours\nstep agent_claim: <... completed>',
    );
  }, 60_000);

  it('rows a setup block returns are printed after the permutation line; NOTIFY, unused steps too', async () => {
    const spec = parseIsolationSpec(
      `setup { CREATE TABLE t (id int); }
       session s1
       setup { SELECT 'ready' AS s1_state; }
       step s1_listen { LISTEN jobs; }
       step s1_idle { SELECT 1 AS one; }
       step s1_never { SELECT 2; }
       session s2
       step s2_notify { NOTIFY jobs, 'run'; }
       permutation s1_listen s2_notify s1_idle`,
      'setup-rows.spec',
    );
    const out = await isolationTesterOutput(spec, { url: db.url });
    expect(out).toBe(
      [
        'unused step name: s1_never',
        'Parsed test spec with 2 sessions',
        '',
        'starting permutation: s1_listen s2_notify s1_idle',
        's1_state',
        '--------',
        'ready   ',
        '(1 row)',
        '',
        'step s1_listen: LISTEN jobs;',
        "step s2_notify: NOTIFY jobs, 'run';",
        'step s1_idle: SELECT 1 AS one;',
        'one',
        '---',
        '  1',
        '(1 row)',
        '',
        's1: NOTIFY "jobs" with payload "run" from s2',
        '',
      ].join('\n'),
    );
  }, 60_000);

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
