import type { Command } from 'commander';
import type { NotifierLookup } from '../../core/notification.js';
import type { ServerFlags } from './incidents-command.js';
import { withServerOptions } from './incidents-command.js';

/** What `channel test` needs from the composition root to send without a server: the notifiers and their settings schemas. */
export interface ChannelDeps {
  readonly notifiers: NotifierLookup & {
    parseChannel(entry: unknown):
      | {
          readonly ok: true;
          readonly channel: {
            readonly name: string;
            readonly type: string;
            readonly settings: Readonly<Record<string, unknown>>;
          };
        }
      | {
          readonly ok: false;
          readonly issues: readonly { readonly path: string; readonly message: string }[];
        };
  };
}

export interface ChannelTestFlags extends ServerFlags {
  readonly config?: string;
  readonly json: boolean;
}

export function registerChannelCommand(program: Command, deps: () => Promise<ChannelDeps>): void {
  const channel = program
    .command('channel')
    .description('Work with notification channels (channels: in the configuration).');
  withServerOptions(
    channel
      .command('test')
      .description(
        'Send a test message through a channel and report the outcome (exit 1 when it failed). Through a server with --server, else straight from the configuration file.',
      )
      .argument('<name>', 'the channel name')
      .option(
        '--config <file>',
        'the configuration file (default: HINDSIGHT_CONFIG, else hindsight.config.yaml)',
      )
      .option('--json', 'print JSON', false),
  ).action(async (name: string, flags: ChannelTestFlags) => {
    const { runChannelTest } = await import('./channel-run.js');
    await runChannelTest(name, flags, await deps());
  });
}
