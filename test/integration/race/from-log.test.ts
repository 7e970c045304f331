import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';
import { specFromLogEvents, specFromLogFile } from '../../../src/race/log-to-spec.js';
import { runRace } from '../../../src/race/race-runner.js';
import { loadSpecFile } from '../../../src/race/spec-loader.js';
import { parseYamlSpec } from '../../../src/race/yaml-spec-parser.js';
import { createTestDatabase } from '../../support/database.js';
import type { TestDatabase } from '../../support/database.js';

const fixture = (name: string): string => join(import.meta.dirname, '../../fixtures/race', name);
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('race_log');
});
afterAll(async () => {
  await db.drop();
});

describe('--from-log turns a production deadlock into a spec that reproduces it', () => {
  it('from recorded log lines of the opposite-order case', async () => {
    const text = await specFromLogFile(fixture('opposite-order-deadlock.log'));
    expect(parse(text)).toMatchObject({ sessions: { p8642: {}, p8643: {} } });
    const result = await runRace(parseYamlSpec(text, 'generated.yaml'), { url: db.url, stopAtFirst: true });
    expect(result.findings[0]?.finding.code).toBe('40P01');
  });

  it('from this server’s own log, after a deadlock happened in this database', async (context) => {
    const logDirectory = inject('pgLogDirectory');
    if (logDirectory === '') context.skip(); // an external server: its log is not ours to read
    await runRace(await loadSpecFile(fixture('opposite-order-deadlock.yaml')), {
      url: db.url,
      stopAtFirst: true,
      shrink: false,
    });
    const files = (await readdir(logDirectory))
      .filter((f) => !f.endsWith('.csv') && !f.endsWith('.json'))
      .sort();
    const newest = files[files.length - 1];
    if (!newest) throw new Error(`no stderr log in ${logDirectory}`);
    // The logging collector writes asynchronously: read again until the report is there.
    let text = '';
    for (let attempt = 0; text === '' && attempt < 50; attempt++) {
      const reader = createLogReader({ format: 'auto' });
      const bytes = await readFile(join(logDirectory, newest));
      try {
        text = specFromLogEvents([...reader.push(bytes), ...reader.end()], newest, { database: db.name });
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const result = await runRace(parseYamlSpec(text, 'generated.yaml'), { url: db.url, stopAtFirst: true });
    expect(result.findings.map((f) => f.finding.code)).toEqual(['40P01']);
  });

  it('says so when the log has no deadlock', () => {
    expect(() => specFromLogEvents([], 'empty.log')).toThrow(/no "deadlock detected" report/);
  });
});
