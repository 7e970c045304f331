import type { Command } from 'commander';
import type { ServerFlags } from './incidents-command.js';
import { withServerOptions } from './incidents-command.js';

export interface OnCallFlags extends ServerFlags {
  readonly at?: string;
  readonly json: boolean;
  readonly config?: string;
}

export function registerOnCallCommand(program: Command): void {
  withServerOptions(
    program
      .command('oncall')
      .description(
        'Who is on call for each schedule, now or --at a time: from the configuration file, or from a server with --server.',
      )
      .option('--at <time>', 'an ISO time with its offset, e.g. 2026-03-29T09:00:00+02:00 (default: now)')
      .option(
        '--config <file>',
        'the configuration file (default: HINDSIGHT_CONFIG, else hindsight.config.yaml)',
      )
      .option('--json', 'print JSON', false),
  ).action(async (flags: OnCallFlags) => {
    const { runOnCall } = await import('./oncall-run.js');
    await runOnCall(flags);
  });
}
