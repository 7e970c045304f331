import type { Deploy } from '../../core/app-signal.js';
import { parseDeployOptions } from '../../config/deploy-options.js';
import { ServerClient } from '../server-client.js';
import { terminalText } from '../terminal-text.js';
import type { DeployFlags } from './deploy-command.js';

export interface DeployIo {
  readonly stdout: NodeJS.WritableStream;
  readonly fetch?: typeof fetch;
}

/** `hindsight deploy VERSION`: one POST /api/v1/deploys; prints what the server recorded. */
export async function recordDeploy(
  version: string,
  flags: DeployFlags,
  io: DeployIo = { stdout: process.stdout },
): Promise<void> {
  const options = parseDeployOptions(version, {
    ...(flags.server === undefined ? {} : { server: flags.server }),
    ...(flags.token === undefined ? {} : { token: flags.token }),
    ...(flags.service === undefined ? {} : { service: flags.service }),
    ...(flags.commit === undefined ? {} : { commit: flags.commit }),
  });
  const client = new ServerClient({ server: options.server, token: options.token }, io.fetch);
  const deploy = (await client.post('/api/v1/deploys', {
    service: options.service,
    version: options.version,
    commit: options.commit,
  })) as Deploy;
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(deploy)}\n`);
    return;
  }
  const commit = deploy.commit === null ? '' : ` (${terminalText(deploy.commit.slice(0, 12))})`;
  io.stdout.write(
    `deploy ${terminalText(deploy.version)}${commit} of ${terminalText(deploy.service)} recorded at ${new Date(deploy.at).toISOString()} (id ${terminalText(deploy.id)})\n`,
  );
}
