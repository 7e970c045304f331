import type { Command } from 'commander';
import type { HindsightConfig } from '../../config/config-schema.js';
import type { AgentOptions } from '../../config/server-options.js';

export interface RunningAgent {
  /** Rejects with a user error when the server refuses the token; resolves after `stop()`. */
  readonly done: Promise<void>;
  /** Stops the watches, delivers what is buffered (a few seconds at most), and resolves. */
  stop(): Promise<void>;
}

/** What `agent` needs from the composition root (src/agent-deps.ts). */
export interface AgentDeps {
  startAgent(options: AgentOptions, config: HindsightConfig): RunningAgent;
}

export interface AgentFlags {
  readonly server?: string;
  readonly token?: string;
  readonly name?: string;
  readonly config?: string;
}

export function registerAgentCommand(program: Command, deps: () => Promise<AgentDeps>): void {
  program
    .command('agent')
    .description(
      "Watch the targets in this host's configuration and push findings and target health to a Hindsight server.",
    )
    .option('--server <url>', 'the Hindsight server (default: HINDSIGHT_SERVER, else http://127.0.0.1:8080)')
    .option('--token <token>', 'an API token with role ingest, responder or admin (default: HINDSIGHT_TOKEN)')
    .option(
      '--name <name>',
      'how this agent names itself to the server (default: HINDSIGHT_AGENT_NAME, else the host name)',
    )
    .option(
      '--config <file>',
      'the targets to watch: hindsight.config.yaml or .json (default: HINDSIGHT_CONFIG, else ./hindsight.config.yaml)',
    )
    .action(async (flags: AgentFlags) => {
      const { runAgent } = await import('./agent-run.js');
      await runAgent(flags, await deps());
    });
}
