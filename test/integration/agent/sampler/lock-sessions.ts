import pg from 'pg';

/** Sessions that hold and wait for locks, for sampler tests. Not a test file itself. */
export class LockSessions {
  readonly #url: string;
  readonly #clients: pg.Client[] = [];
  readonly #pending: Promise<unknown>[] = [];

  constructor(url: string) {
    this.#url = url;
  }

  /** A new session; returns its client and backend pid. */
  async open(applicationName = 'sampler-test'): Promise<{ client: pg.Client; pid: number }> {
    const client = new pg.Client({ connectionString: this.#url, application_name: applicationName });
    // A waiter cut off at the end of a test reports an error; that is expected.
    client.on('error', () => undefined);
    await client.connect();
    this.#clients.push(client);
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return { client, pid: rows[0]?.pid ?? -1 };
  }

  /** Starts a statement expected to block; its outcome is collected by `close()`. */
  startBlocked(client: pg.Client, sql: string): void {
    this.#pending.push(client.query(sql).catch(() => undefined));
  }

  /** Resolves once every pid waits on a lock (polled on `observer`), or throws after 10 s. */
  static async untilWaiting(observer: pg.Client, pids: readonly number[]): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await observer.query<{ n: number }>(
        'SELECT count(DISTINCT pid)::int AS n FROM pg_locks WHERE NOT granted AND pid = ANY($1::int[])',
        [pids],
      );
      if ((rows[0]?.n ?? 0) === pids.length) return;
      if (Date.now() > deadline) throw new Error(`sessions ${pids.join(', ')} never all waited on a lock`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Ends every session (their transactions roll back, waiters are released). */
  async close(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.end().catch(() => undefined)));
    await Promise.all(this.#pending);
  }
}
