import type { Command } from 'commander';
import { withServerOptions, type ServerFlags } from './incidents-command.js';

export interface DeployFlags extends ServerFlags {
  readonly service?: string;
  readonly commit?: string;
  readonly json: boolean;
}

export function registerDeployCommand(program: Command): void {
  withServerOptions(
    program
      .command('deploy')
      .argument('<version>', 'the version going out, e.g. v2 or 1.4.0')
      .description(
        'Record a deploy marker on a Hindsight server (add it to your CI pipeline): incidents then say "began N min after deploy VERSION", and open incidents of the service note it.',
      )
      .option('--service <name>', 'the service deployed (default: HINDSIGHT_SERVICE)')
      .option(
        '--commit <sha>',
        'the commit deployed (default: GITHUB_SHA, CI_COMMIT_SHA or GIT_COMMIT when set)',
      )
      .option('--json', 'print the deploy the server recorded as JSON', false),
  ).action(async (version: string, flags: DeployFlags) => {
    const { recordDeploy } = await import('./deploy-run.js');
    await recordDeploy(version, flags);
  });
}
