import type { Command } from 'commander';
import type { RaceFlags } from '../../config/race-options.js';
import { OUTCOME_KINDS } from '../../race/race-spec.js';

/** `hindsight race SPEC…`: deterministic race and deadlock tests; exit 1 on a finding. */
export function registerRaceCommand(program: Command): void {
  program
    .command('race')
    .description(
      'Run race tests (YAML or PostgreSQL isolation tester .spec files) under controlled interleavings',
    )
    .argument('[specs...]', 'spec files: .yaml/.yml (Hindsight) or .spec (isolation tester)')
    .option(
      '--db <url>',
      'run on this server (scratch databases are created and dropped) instead of a throwaway local PostgreSQL',
    )
    .option('--seed <n>', 'seed of the random schedules (replays them exactly)')
    .option('--max-schedules <n>', 'schedules to try per spec (default 300)')
    .option('--schedule <choices>', 'replay one schedule, e.g. "a b a b" (a+b: released at the same instant)')
    .option('--first', 'stop exploring a spec at its first finding')
    .option('--no-shrink', 'report findings without minimizing them')
    .option(
      '--allow <kinds>',
      `outcomes that are not findings, comma-separated (${OUTCOME_KINDS.join(', ')})`,
    )
    .option('--overlap', 'also release two statements at the same instant')
    .option('--json', 'print JSON')
    .option('--junit <file>', 'write a JUnit XML report')
    .option(
      '--from-log <file>',
      'turn a deadlock in a PostgreSQL log into a spec (printed, or written with --out)',
    )
    .option('--out <file>', 'where --from-log writes the spec')
    .option(
      '--expected <file>',
      "run the spec's permutations as listed, print the isolation tester's output and diff it with this file (exit 1 when it differs)",
    )
    .action(async (specs: string[], flags: RaceFlags) => {
      // Loaded here, not at start-up: pg, yaml and zod are for race runs only.
      const { runRaceCommand } = await import('./race-run.js');
      await runRaceCommand(specs, flags);
    });
}
