import type { RaceClient } from './race-client.js';
import { openRaceServer } from './race-database.js';
import { formatResult } from './race-report.js';
import { runRace } from './race-runner.js';
import type { RaceResult } from './race-runner.js';
import { DEFAULT_ALLOW } from './race-spec.js';
import type { OutcomeKind, RaceSpec } from './race-spec.js';
import type { SessionProgram } from './schedule-runner.js';

export type { RaceClient } from './race-client.js';
export type { RaceResult } from './race-runner.js';

export interface RaceTest {
  readonly name?: string;
  /** SQL run before every schedule (the database is wiped between schedules). */
  readonly setup?: string | readonly string[];
  /**
   * Application code, one function per session. Each gets a client that looks like pg's
   * (`query(text, params)`); every query is one step of the schedule. A session that throws
   * counts as not committed.
   */
  readonly sessions: Readonly<Record<string, (db: RaceClient) => Promise<unknown>>>;
  /** Queries that must return true at the end of every schedule. */
  readonly invariants?: readonly (string | { readonly name: string; readonly sql: string })[];
  /** Outcomes that are not findings (default: serialization_failure). */
  readonly allow?: readonly OutcomeKind[];
  readonly overlap?: boolean;
  /** A scratch database to use (it is wiped); a throwaway local PostgreSQL when absent. */
  readonly url?: string;
  readonly maxSchedules?: number;
  readonly seed?: number;
  readonly stopAtFirst?: boolean;
}

/**
 * The TypeScript API: runs real application code under controlled interleavings.
 *
 *   const result = await race({ setup, sessions: { checkout: async (db) => …, restock: async (db) => … } });
 *   assertNoRace(result);
 */
export async function race(test: RaceTest): Promise<RaceResult> {
  const names = Object.keys(test.sessions);
  const spec: RaceSpec = {
    name: test.name ?? names.join(' vs '),
    format: 'api',
    setup: typeof test.setup === 'string' ? [test.setup] : [...(test.setup ?? [])],
    teardown: [],
    sessions: names.map((name) => ({ name, setup: [], teardown: [], steps: [] })),
    permutations: [],
    invariants: (test.invariants ?? []).map((inv, i) =>
      typeof inv === 'string' ? { name: `invariant ${i + 1}`, sql: inv } : inv,
    ),
    allow: test.allow ?? DEFAULT_ALLOW,
    overlap: test.overlap ?? false,
  };
  const programs = new Map<string, SessionProgram>(
    Object.entries(test.sessions).map(([name, fn]) => [
      name,
      async (db: RaceClient) => {
        await fn(db);
      },
    ]),
  );
  const options = {
    programs,
    ...(test.maxSchedules !== undefined ? { maxSchedules: test.maxSchedules } : {}),
    ...(test.seed !== undefined ? { seed: test.seed } : {}),
    ...(test.stopAtFirst !== undefined ? { stopAtFirst: test.stopAtFirst } : {}),
  };
  if (test.url !== undefined) return runRace(spec, { url: test.url, ...options });
  const server = await openRaceServer();
  try {
    return await runRace(spec, { url: await server.createDatabase(), ...options });
  } finally {
    await server.close();
  }
}

/** Throws an Error carrying the full report when the race test found something. */
export function assertNoRace(result: RaceResult): void {
  if (result.findings.length > 0) throw new Error(formatResult(result));
}
