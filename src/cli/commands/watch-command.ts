import type { Command } from 'commander';
import { LOG_FORMATS } from '../../core/log-event.js';
import type { WatchFlags } from '../../config/watch-options.js';
import type { WatchDeps } from './watch-run.js';

/** `deps` is loaded only when `watch` runs: other commands do not pay for pg and the tailer. */
export function registerWatchCommand(program: Command, deps: () => Promise<WatchDeps>): void {
  program
    .command('watch')
    .description(
      'Watch a PostgreSQL database live: blocking trees with their root blocker, deadlocks with their queries.',
    )
    .argument(
      '[postgres-url]',
      'as psql takes it: postgresql://monitor:secret@db.internal:5432/shop, postgresql://monitor@/shop?host=/var/run/postgresql; ' +
        'PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and ~/.pgpass fill what it leaves out (the role needs pg_monitor)',
    )
    .option(
      '--log <file-or-dir>',
      "the server's log file (or its log_directory) to tail for deadlock reports; - reads standard input " +
        '(kubectl logs -f … | hindsight watch … --log -); a rotated file is followed to its successor',
    )
    .option('--log-prefix <prefix>', "the server's log_line_prefix, if it cannot be read from the server")
    .option(
      '--log-timezone <zone>',
      "the server's log_timezone (an IANA zone such as Asia/Kolkata, or an offset), if it cannot be read from the server",
    )
    .option('--log-format <format>', `auto (told from the first lines), ${LOG_FORMATS.join(', ')}`, 'auto')
    .option('--from-start', 'read the log from its beginning instead of its end', false)
    .option('--json', 'stream findings as JSON lines instead of the live view', false)
    .option('--interval <seconds>', 'seconds between samples', '1')
    .option('--name <name>', 'display name for this database')
    .option('--raw-queries', 'show query text with its literals (normalized to $1, $2 by default)', false)
    .option('--blocking-threshold <seconds>', 'a lock wait longer than this opens a blocking episode', '1')
    .option(
      '--idle-in-transaction <seconds>',
      'report sessions idle in a transaction for longer than this',
      '30',
    )
    .option('--long-transaction <seconds>', 'report transactions open for longer than this', '300')
    .option(
      '--metrics-port <port>',
      "also serve the target's metrics for Prometheus at http://127.0.0.1:PORT/metrics (lock-aware, postgres_exporter names where they exist)",
    )
    .option(
      '--metrics-host <address>',
      'the address --metrics-port listens on (0.0.0.0: every interface)',
      '127.0.0.1',
    )
    .option(
      '--no-host-metrics',
      "never read this host's /proc for CPU, memory, disk and per-backend CPU (read only when the target runs here)",
    )
    .action(async (url: string | undefined, flags: Omit<WatchFlags, 'url'>) => {
      // Loaded here, not at start-up: `hindsight analyze` and `--help` need none of it.
      const [{ parseWatchOptions }, { runWatch }] = await Promise.all([
        import('../../config/watch-options.js'),
        import('./watch-run.js'),
      ]);
      await runWatch(parseWatchOptions(url === undefined ? flags : { ...flags, url }), await deps());
    });
}
