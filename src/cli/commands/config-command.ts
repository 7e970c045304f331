import type { Command } from 'commander';

export function registerConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description('Work with hindsight.config.yaml (configuration as code).');
  config
    .command('check')
    .description(
      'Validate a configuration file: prints what it declares (secrets redacted), or every problem with its path (exit 2).',
    )
    .argument('<file>', 'hindsight.config.yaml or .json; ${VAR} references are read from the environment')
    .option('--agent', "check it as an agent's file (services live on the server)", false)
    .action(async (file: string, flags: { agent: boolean }) => {
      const [{ loadConfigOrThrow }, { renderConfigSummary }] = await Promise.all([
        import('../../config/config-file.js'),
        import('../config-summary.js'),
      ]);
      process.stdout.write(renderConfigSummary(file, await loadConfigOrThrow(file, { agent: flags.agent })));
    });
}
