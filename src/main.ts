import { Command } from 'commander';
import { PostgresTarget } from './agent/targets/postgres/postgres-target.js';
import { registerAnalyzeCommand } from './cli/commands/analyze-command.js';
import { registerRaceCommand } from './cli/commands/race-command.js';
import { registerWatchCommand, type WatchDeps } from './cli/commands/watch-command.js';
import { reportError } from './cli/report-error.js';
import { userError } from './core/errors.js';
import { createFindingDetector } from './core/finding-detector.js';
import { normalizeQuery } from './core/query-normalizer.js';
import { boundedMemo } from './platform/bounded-memo.js';
import { createLogger } from './platform/logger.js';
import { randomIds } from './platform/random-ids.js';
import { systemClock } from './platform/system-clock.js';

function watchDeps(): WatchDeps {
  return {
    clock: systemClock,
    logger: createLogger({ level: 'warn' }),
    stdout: process.stdout,
    stderr: process.stderr,
    openTarget: (options) =>
      PostgresTarget.create(options.url, {
        name: options.name,
        clock: systemClock,
        ...(options.rawQueries ? {} : { normalizeQuery: boundedMemo((sql) => normalizeQuery(sql)) }),
      }),
    createDetector: (options, clock) =>
      createFindingDetector({
        target: options.name,
        clock,
        ids: randomIds,
        thresholds: {
          blockingMs: options.blockingThresholdMs,
          idleInTransactionMs: options.idleInTransactionMs,
          longTransactionMs: options.longTransactionMs,
        },
      }),
    followLog: (options) => Promise.reject(userError('E_LOG_UNSUPPORTED', `cannot follow ${options.logPath} yet`)),
  };
}

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
  registerWatchCommand(program, watchDeps);
  registerRaceCommand(program);
  registerAnalyzeCommand(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}
