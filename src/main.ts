import { Command } from 'commander';
import { registerAgentCommand } from './cli/commands/agent-command.js';
import { registerAnalyzeCommand } from './cli/commands/analyze-command.js';
import { registerChannelCommand } from './cli/commands/channel-command.js';
import { registerConfigCommand } from './cli/commands/config-command.js';
import { registerDemoCommand } from './cli/commands/demo-command.js';
import { registerDeployCommand } from './cli/commands/deploy-command.js';
import { registerHistoryCommand } from './cli/commands/history-command.js';
import { registerIncidentCommand } from './cli/commands/incident-command.js';
import { registerIncidentsCommand } from './cli/commands/incidents-command.js';
import { registerOnCallCommand } from './cli/commands/oncall-command.js';
import { registerRaceCommand } from './cli/commands/race-command.js';
import { registerServeCommand } from './cli/commands/serve-command.js';
import { registerWatchCommand } from './cli/commands/watch-command.js';
import { reportError } from './cli/report-error.js';

/**
 * Composition root: it builds the CLI and hands each command the adapters it needs (watch's come
 * from ./watch-deps.ts, loaded when `watch` runs, so that start-up stays fast for the others).
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('hindsight')
    .description('Watches PostgreSQL, names the root cause of lock trouble, and keeps the record.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run `hindsight --help` for the commands)');
  registerWatchCommand(program, async () => (await import('./watch-deps.js')).watchDeps());
  registerRaceCommand(program);
  registerAnalyzeCommand(program);
  registerServeCommand(program, async () => (await import('./serve-deps.js')).serveDeps());
  registerAgentCommand(program, async () => (await import('./agent-deps.js')).agentDeps());
  registerConfigCommand(program);
  // The demo (demo/, built beside src/ by tsconfig.build.json) is loaded only when `demo` runs.
  registerDemoCommand(program, async () => ({
    runSeedDemo: (await import('../demo/seed-scenario.js')).runSeedDemo,
  }));
  registerIncidentsCommand(program);
  registerIncidentCommand(program);
  registerDeployCommand(program);
  registerHistoryCommand(program);
  registerOnCallCommand(program);
  registerChannelCommand(program, async () => ({
    notifiers: (await import('./notify/notifier-registry.js')).createNotifierRegistry(),
  }));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}
