import { Command } from 'commander';
import { reportError } from './cli/report-error.js';
import { registerRaceCommand } from './cli/commands/race-command.js';

/**
 * Composition root: the only file that imports everything. It builds the CLI and hands each
 * command the adapters it needs.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('hindsight')
    .description('Watches PostgreSQL, names the root cause of lock trouble, and keeps the record.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run `hindsight --help` for the commands)');
  registerRaceCommand(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}
