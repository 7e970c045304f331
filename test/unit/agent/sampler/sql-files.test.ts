import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  loadSqlFiles,
  SQL_FILE_NAMES,
  sqlFileCandidates,
} from '../../../../src/agent/targets/postgres/sql-files.js';

describe('sampler query files', () => {
  it('are found next to the module when run from src/ (tsx, vitest)', async () => {
    const sql = await loadSqlFiles();
    for (const name of SQL_FILE_NAMES) {
      expect(sql[name]).toMatch(/SELECT/);
      expect(sql[name].trimEnd().endsWith(';')).toBe(false);
    }
  });

  it('are looked up in the source tree when the module runs from a tsc build in dist/', () => {
    const built = new URL('../../../../dist/src/agent/targets/postgres/sql-files.js', import.meta.url).href;
    const candidates = sqlFileCandidates('sessions', built).map((u) => u.pathname);
    expect(candidates[0]).toMatch(/\/dist\/src\/agent\/targets\/postgres\/queries\/sessions\.sql$/);
    expect(candidates[1]).toBe(
      new URL('../../../../src/agent/targets/postgres/queries/sessions.sql', import.meta.url).pathname,
    );
    expect(existsSync(candidates[1] ?? '')).toBe(true);
  });

  it('have no fallback outside a dist build', () => {
    const source = new URL('../../../../src/agent/targets/postgres/sql-files.ts', import.meta.url).href;
    expect(sqlFileCandidates('sessions', source)).toHaveLength(1);
  });

  it('keep lock-waits.sql and its PostgreSQL 13 variant in step: the same statement but for waitstart', async () => {
    const sql = await loadSqlFiles();
    const body = (text: string): string =>
      text
        .split('\n')
        .filter((line) => !line.startsWith('--'))
        .join('\n')
        .replace('NULL::timestamptz AS waitstart', 'l.waitstart');
    expect(body(sql['lock-waits-pg13'])).toBe(body(sql['lock-waits']));
  });
});
