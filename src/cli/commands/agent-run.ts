import { userError } from '../../core/errors.js';
import { loadConfigOrThrow } from '../../config/config-file.js';
import { parseAgentOptions, resolveConfigPath } from '../../config/server-options.js';
import type { AgentDeps, AgentFlags } from './agent-command.js';
import { stopSignal } from '../stop-signal.js';

export interface AgentIo {
  readonly stderr: NodeJS.WritableStream;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  readonly stopRequested?: Promise<string>;
}

/** Runs the agent until SIGINT/SIGTERM; rejects with a user error when the server refuses the token. */
export async function runAgent(
  flags: AgentFlags,
  deps: AgentDeps,
  io: AgentIo = { stderr: process.stderr },
): Promise<void> {
  const options = parseAgentOptions(flags);
  const configPath = resolveConfigPath(flags.config);
  if (configPath === null) {
    throw userError(
      'AGENT_CONFIG_INVALID',
      'no configuration: pass --config FILE (or set HINDSIGHT_CONFIG) naming the targets this agent watches under targets:',
    );
  }
  const config = await loadConfigOrThrow(configPath, { agent: true });
  if (config.targets.length === 0)
    throw userError(
      'AGENT_CONFIG_INVALID',
      `${configPath} declares no targets; list the databases this agent watches under targets:`,
    );
  const stopRequested = io.stopRequested ?? stopSignal();
  const agent = await deps.startAgent(options, config);
  io.stderr.write(
    `hindsight: agent ${options.name} watching ${config.targets.map((t) => t.name).join(', ')}; pushing to ${options.server}${agent.metricsUrl === undefined ? '' : `; metrics at ${agent.metricsUrl}`}\n`,
  );
  const outcome = await Promise.race([agent.done.then(() => null), stopRequested]);
  if (outcome !== null) io.stderr.write(`hindsight: ${outcome}: delivering what is buffered and stopping\n`);
  await agent.stop();
  await agent.done;
}
