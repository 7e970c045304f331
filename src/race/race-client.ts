import type { StepResult } from './step-result.js';

/** The part of pg's `Client` that application code under test uses. */
export interface RaceClient {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    textOrConfig: string | RaceQueryConfig,
    values?: readonly unknown[],
  ): Promise<RaceQueryResult<R>>;
  /** A no-op, so that the client can stand in for a pooled one (`pool.connect()` … `release()`). */
  release(): void;
}

/** pg's query config; `rowMode: 'array'` (Drizzle uses it) returns rows as arrays. */
export interface RaceQueryConfig {
  readonly text: string;
  readonly values?: readonly unknown[];
  readonly rowMode?: 'array';
}

export interface RaceQueryResult<R> {
  readonly rows: R[];
  readonly rowCount: number | null;
  readonly command: string;
}

/** Thrown into application code when its query fails, shaped like pg's DatabaseError. */
export class RaceQueryError extends Error {
  override readonly name = 'RaceQueryError';
  readonly code: string;
  readonly detail: string | undefined;
  constructor(result: StepResult) {
    super(result.message ?? 'query failed');
    this.code = result.code ?? 'XX000';
    this.detail = result.detail;
  }
}

/** A query the application code wants to run, parked until the scheduler releases it. */
export interface PendingQuery {
  readonly text: string;
  readonly params: readonly unknown[] | undefined;
  readonly stepName: string | undefined;
  readonly rowMode: 'array' | undefined;
  readonly free: boolean;
  readonly callSite: string | undefined;
  readonly settle: (result: StepResult) => void;
}

/**
 * The controlled client handed to a session: every `query()` parks until the scheduler releases
 * it, so each query is one step. `park` hands the pending query to the driver.
 */
export function controlledClient(
  park: (query: PendingQuery) => void,
): RaceClient & { step(name: string, sql: string, free: boolean): Promise<StepResult> } {
  const run = (
    text: string,
    params: readonly unknown[] | undefined,
    stepName: string | undefined,
    options: { free: boolean; rowMode?: 'array' | undefined },
  ) =>
    new Promise<StepResult>((resolve) => {
      park({
        text,
        params,
        stepName,
        rowMode: options.rowMode,
        free: options.free,
        callSite: stepName === undefined ? callSite() : undefined,
        settle: resolve,
      });
    });
  return {
    async query<R extends Record<string, unknown>>(
      textOrConfig: string | RaceQueryConfig,
      values?: readonly unknown[],
    ): Promise<RaceQueryResult<R>> {
      const config = typeof textOrConfig === 'string' ? { text: textOrConfig } : textOrConfig;
      const params = values ?? config.values;
      const result = await run(config.text, params, undefined, { free: false, rowMode: config.rowMode });
      if (!result.ok) throw new RaceQueryError(result);
      return { rows: result.rows as R[], rowCount: result.rowCount, command: result.command ?? '' };
    },
    release: () => undefined,
    step: (name, sql, free) => run(sql, undefined, name, { free }),
  };
}

/** The first stack frame outside the race tester and node_modules: where the app issued the query. */
function callSite(): string | undefined {
  const lines = (new Error().stack ?? '').split('\n').slice(1);
  const frame = lines.find(
    (l) =>
      !l.includes('/src/race/') &&
      !l.includes('node_modules') &&
      !l.includes('node:') &&
      !l.includes('<anonymous>'),
  );
  return frame?.trim().replace(/^at /, '');
}
