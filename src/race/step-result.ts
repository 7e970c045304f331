/** What one step (SQL submission) did. Errors are results, not exceptions: they are the outcomes. */
export interface StepResult {
  readonly ok: boolean;
  readonly rows: readonly Record<string, unknown>[];
  readonly rowCount: number | null;
  readonly command: string | null;
  readonly code?: string;
  readonly message?: string;
  readonly detail?: string;
  /** ERROR, FATAL… (the isolation tester prints it before the message). */
  readonly severity?: string;
  /** Column names, for a step sent `asText`. */
  readonly fields?: readonly string[];
  /** A step sent `asText`: every row-returning statement's result in order (the isolation
   *  tester prints each), those before a failing statement included. */
  readonly results?: readonly TextResult[];
}

/** One statement's rows as the server's text, with its column names. */
export interface TextResult {
  readonly fields: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** One line of a schedule's timeline. `waits`: the step is blocked on the named sessions. */
export interface TraceEvent {
  readonly seq: number;
  /** Milliseconds since the schedule started. */
  readonly at: number;
  readonly session: string;
  readonly step: string;
  readonly sql: string;
  readonly kind: 'start' | 'waits' | 'done' | 'error';
  readonly waitsFor?: readonly string[];
  readonly code?: string;
  readonly message?: string;
  readonly detail?: string;
  /** The command tag of a finished step (a COMMIT in a failed transaction answers ROLLBACK). */
  readonly command?: string;
  /** A 57014 that race itself caused (its step timeout, or ending a stall): not the spec's outcome. */
  readonly cancelledByRace?: true;
  /** Where the TypeScript API issued the query. */
  readonly callSite?: string;
}

export function errorResult(error: unknown): StepResult {
  const e = error as { code?: unknown; message?: unknown; detail?: unknown; severity?: unknown };
  return {
    ok: false,
    rows: [],
    rowCount: null,
    command: null,
    code: typeof e.code === 'string' ? e.code : 'XX000',
    message: typeof e.message === 'string' ? e.message : String(error),
    ...(typeof e.detail === 'string' ? { detail: e.detail } : {}),
    ...(typeof e.severity === 'string' ? { severity: e.severity } : {}),
  };
}
