import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIsolationSpec } from '../../../src/race/isolation-spec-parser.js';

const fixture = (name: string): Promise<string> =>
  readFile(join(import.meta.dirname, '../../fixtures/race', name), 'utf8');

describe('parseIsolationSpec', () => {
  it('reads setup, teardown, sessions, steps and permutations as PostgreSQL writes them', async () => {
    const spec = parseIsolationSpec(await fixture('deadlock-opposite-order.spec'), 'x.spec');
    expect(spec.setup).toHaveLength(1);
    expect(spec.setup[0]).toMatch(/^CREATE TABLE accounts/);
    expect(spec.teardown).toEqual(['DROP TABLE accounts;']);
    expect(spec.sessions.map((s) => [s.name, s.setup, s.steps.map((x) => x.name)])).toEqual([
      ['s1', ['BEGIN;'], ['s1a', 's1b', 's1c']],
      ['s2', ['BEGIN;'], ['s2a', 's2b', 's2c']],
    ]);
    expect(spec.permutations[0]?.map((e) => e.step)).toEqual(['s1a', 's2a', 's1b', 's2b', 's1c', 's2c']);
  });

  it('reads the annotations: (*), (step), (step notices N), (notices N) and combinations', async () => {
    const spec = parseIsolationSpec(await fixture('annotations.spec'));
    expect(spec.permutations[0]?.[0]).toEqual({ step: 'sleep', blockers: [{ kind: 'any' }] });
    expect(spec.permutations[1]?.[0]).toEqual({ step: 'sleep', blockers: [{ kind: 'step', step: 'count' }] });
    expect(spec.permutations[2]?.[0]).toEqual({
      step: 'note',
      blockers: [{ kind: 'notices', step: 'note', count: 2 }],
    });
    expect(spec.permutations[3]?.[0]).toEqual({
      step: 'insert',
      blockers: [{ kind: 'notices', step: 'note', count: 2 }],
    });
    expect(spec.permutations[4]?.[0]).toEqual({
      step: 'sleep',
      blockers: [{ kind: 'any' }, { kind: 'step', step: 'count' }],
    });
  });

  it('says what is wrong in an annotation', () => {
    const spec = (annotation: string): string =>
      `session a step s1 { SELECT 1; } step s2 { SELECT 2; } permutation s1${annotation} s2`;
    expect(() => parseIsolationSpec(spec('(s2 notices)'))).toThrow(/expected a number after `s2 notices`/);
    expect(() => parseIsolationSpec(spec('(s2 notices 1 s1)'))).toThrow(/expected `,` or `\)`/);
    expect(() => parseIsolationSpec(spec('(nope notices 1)'))).toThrow(/unknown step nope/);
  });

  it('accepts quoted names, several setup blocks, comments, braces in strings and dollar quotes, TIMEOUT', () => {
    const spec = parseIsolationSpec(`
      # comment { not a block }
      setup { CREATE TABLE t (a text DEFAULT '}'); }
      setup { CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$; }
      session "one"
      step "s 1" { SELECT '{}'; } TIMEOUT 10
      session two { step s2 { SELECT 2; } }
      permutation "s 1" s2
    `);
    expect(spec.setup).toHaveLength(2);
    expect(spec.setup[0]).toBe("CREATE TABLE t (a text DEFAULT '}');");
    expect(spec.sessions.map((s) => s.name)).toEqual(['one', 'two']);
    expect(spec.sessions[0]?.steps[0]).toEqual({ name: 's 1', sql: "SELECT '{}';" });
    expect(spec.permutations).toEqual([
      [
        { step: 's 1', blockers: [] },
        { step: 's2', blockers: [] },
      ],
    ]);
  });

  it('rejects what the isolation tester rejects, saying where', () => {
    expect(() => parseIsolationSpec('session a step x { SELECT 1 } session b step x { SELECT 2 }')).toThrow(
      /used twice/,
    );
    expect(() => parseIsolationSpec('session a step x { SELECT 1 } permutation y')).toThrow(/unknown step y/);
    expect(() => parseIsolationSpec('setup { SELECT 1')).toThrow(/never closed/);
    expect(() => parseIsolationSpec('setup { SELECT 1 }\n\nbogus')).toThrow(
      /:3: expected at least one `session`/,
    );
    expect(() => parseIsolationSpec('session a step x { SELECT 1 } permutation x(y')).toThrow(
      /unknown step y|expected/,
    );
  });
});
