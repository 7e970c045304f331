import { describe, expect, it } from 'vitest';
import { parseYamlSpec } from '../../../src/race/yaml-spec-parser.js';

describe('parseYamlSpec', () => {
  it('wraps each session in BEGIN ISOLATION LEVEL … COMMIT, the BEGIN released without a decision', () => {
    const spec = parseYamlSpec(`
setup: CREATE TABLE t (id int)
sessions:
  a:
    isolation: serializable
    steps: [SELECT 1, { name: write, sql: "INSERT INTO t VALUES (1)" }]
  b:
    transaction: false
    steps: [SELECT 2]
invariants: [SELECT true]
expect: [unique_violation]
`);
    expect(spec.setup).toEqual(['CREATE TABLE t (id int)']);
    expect(spec.sessions[0]?.steps).toEqual([
      { name: 'a.begin', sql: 'BEGIN ISOLATION LEVEL SERIALIZABLE', free: true },
      { name: 'a.1', sql: 'SELECT 1' },
      { name: 'write', sql: 'INSERT INTO t VALUES (1)' },
      { name: 'a.commit', sql: 'COMMIT' },
    ]);
    expect(spec.sessions[1]?.steps).toEqual([{ name: 'b.1', sql: 'SELECT 2' }]);
    expect(spec.invariants).toEqual([{ name: 'invariant 1', sql: 'SELECT true' }]);
    expect(spec.allow).toEqual(['unique_violation']);
    expect(spec.overlap).toBe(false);
  });

  it('reports every problem with its path', () => {
    expect(() => parseYamlSpec('sessions: { a: { isolation: snapshot, steps: [] } }')).toThrow(
      /sessions\.a\.isolation.*sessions\.a\.steps/s,
    );
    expect(() => parseYamlSpec('sessions: { a: { steps: [x] } }\npermutations: [[a.9]]')).toThrow(
      /unknown step a\.9/,
    );
    expect(() => parseYamlSpec('sessions: [')).toThrow(/not valid YAML/);
  });
});
