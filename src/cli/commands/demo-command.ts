import { parseDemoUsers } from '../../config/command-options.js';
import type { Command } from 'commander';

export interface DemoRunOptions {
  readonly ci: boolean;
  readonly json: boolean;
  readonly users: number;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** What `demo` needs from the composition root: the scenario (demo/seed-scenario.ts), loaded when it runs. */
export interface DemoDeps {
  /** Resolves with the exit code: 0 when the story ran through and every check held, 1 otherwise, 130 after Ctrl-C. */
  runSeedDemo(options: DemoRunOptions): Promise<number>;
}

interface DemoFlags {
  readonly ci?: boolean;
  readonly json?: boolean;
  readonly users: string;
}

/** `hindsight demo`: the seed's outage replayed on this machine (what `npm start` runs). */
export function registerDemoCommand(program: Command, deps: () => Promise<DemoDeps>): void {
  program
    .command('demo')
    .description(
      "Replay the seed's outage in about a minute: a sample shop under simulated users, a deploy that deadlocks checkout, Hindsight's incident, pages, escalation and the fix",
    )
    .option(
      '--ci',
      'no pauses for reading; exit 0 once the incident is resolved and every check holds, 1 otherwise',
    )
    .option(
      '--json',
      'print the final incident as one JSON object on stdout (GET /api/v1/incidents/:id); the narration goes to stderr',
    )
    .option('--users <n>', 'simulated users', '200')
    .action(async (flags: DemoFlags) => {
      const users = parseDemoUsers(flags.users);
      // Before the demo's modules load: built (dist/), the shop's call sites then name its .ts lines.
      process.setSourceMapsEnabled(true);
      const demo = await deps();
      process.exitCode = await demo.runSeedDemo({
        ci: flags.ci === true,
        json: flags.json === true,
        users,
        stdout: process.stdout,
        stderr: process.stderr,
      });
    });
}
