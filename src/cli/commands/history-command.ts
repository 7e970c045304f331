import type { Command } from 'commander';
import { withServerOptions, type ServerFlags } from './incidents-command.js';

export interface HistoryFlags extends ServerFlags {
  readonly since?: string;
  readonly until?: string;
  readonly kind?: string;
  readonly limit?: string;
  readonly metric?: string;
  readonly json: boolean;
}

export function registerHistoryCommand(program: Command): void {
  withServerOptions(
    program
      .command('history')
      .argument('<target>', 'the target, as named in the configuration (e.g. shop-db)')
      .description(
        'What happened on a target, from a Hindsight server: every finding (deadlocks, blocking episodes with their root blocker, long transactions…), also those that never became an incident — "has this deadlock happened before?"',
      )
      .option('--since <when>', 'a duration before now (24h, 7d) or an ISO date-time (default: 24h)')
      .option('--until <when>', 'the same, for the end (default: now)')
      .option(
        '--kind <kinds>',
        'only these kinds, comma-separated: deadlock, blocking_episode, long_transaction, idle_in_transaction, lock_wait_storm, target_unreachable, target_recovered',
      )
      .option('--limit <n>', 'at most this many, oldest first (default 1000)')
      .option(
        '--metric <name>',
        'print this metric over the window instead of findings, e.g. active_lock, commits, cache_hit_ratio, host_cpu_busy, host_load1 (GET /api/v1/targets/TARGET/series)',
      )
      .option('--json', 'print the findings (or the series) as JSON', false),
  ).action(async (target: string, flags: HistoryFlags) => {
    const { printHistory } = await import('./history-run.js');
    await printHistory(target, flags);
  });
}
