import type { Command } from 'commander';

/** Options every command that talks to a server takes. */
export interface ServerFlags {
  readonly server?: string;
  readonly token?: string;
}

export const withServerOptions = (command: Command): Command =>
  command
    .option('--server <url>', 'the Hindsight server (default: HINDSIGHT_SERVER, else http://127.0.0.1:8080)')
    .option('--token <token>', 'an API token (default: HINDSIGHT_TOKEN)');

export function registerIncidentsCommand(program: Command): void {
  withServerOptions(
    program
      .command('incidents')
      .description('List incidents from a Hindsight server: id, state, service, age, summary.')
      .option('--state <state>', 'open, resolved or all', 'open')
      .option('--limit <n>', 'at most this many, newest first', '100')
      .option('--json', 'print the JSON the server sent', false),
  ).action(async (flags: ServerFlags & { state: string; limit: string; json: boolean }) => {
    const { listIncidents } = await import('./incident-run.js');
    await listIncidents(flags);
  });
}
