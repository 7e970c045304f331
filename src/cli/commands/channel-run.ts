import { testChannel, type ChannelTestResult } from '../../app/paging-queries.js';
import { loadConfigOrThrow } from '../../config/config-file.js';
import { parseServerClientOptions, resolveConfigPath } from '../../config/server-options.js';
import { userError } from '../../core/errors.js';
import type { NotificationChannel } from '../../core/notification.js';
import { randomIds } from '../../platform/random-ids.js';
import { systemClock } from '../../platform/system-clock.js';
import { ServerClient } from '../server-client.js';
import { terminalText } from '../terminal-text.js';
import type { ChannelDeps, ChannelTestFlags } from './channel-command.js';

export interface ChannelIo {
  readonly stdout: NodeJS.WritableStream;
  readonly fetch?: typeof fetch;
}

/** `hindsight channel test NAME`: through the server with --server, else from the file; exit 1 when the send failed. */
export async function runChannelTest(
  name: string,
  flags: ChannelTestFlags,
  deps: ChannelDeps,
  io: ChannelIo = { stdout: process.stdout },
): Promise<void> {
  let outcome: ChannelTestResult;
  const configPath = flags.server === undefined ? resolveConfigPath(flags.config) : null;
  if (configPath !== null) {
    const config = await loadConfigOrThrow(configPath);
    const channels: NotificationChannel[] = [];
    const problems: string[] = [];
    config.paging.channels.forEach((c, index) => {
      const parsed = deps.notifiers.parseChannel({ name: c.name, type: c.type, ...c.settings });
      if (parsed.ok) channels.push(parsed.channel);
      else if (c.name === name)
        for (const issue of parsed.issues)
          problems.push(`channels[${index}]${issue.path === '' ? '' : `.${issue.path}`}: ${issue.message}`);
    });
    if (problems.length > 0)
      throw userError(
        'CONFIG_INVALID',
        `${configPath}: channel ${name} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    outcome = await testChannel(
      { directory: { ...config.paging, channels }, notifiers: deps.notifiers, ids: randomIds },
      { name, requestedBy: 'cli', now: systemClock.now(), signal: AbortSignal.timeout(20_000) },
    );
  } else {
    const client = new ServerClient(parseServerClientOptions(flags), io.fetch);
    outcome = (await client.post(`/api/v1/channels/${encodeURIComponent(name)}/test`)) as ChannelTestResult;
  }
  if (flags.json) io.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
  else if (outcome.result.outcome === 'sent')
    io.stdout.write(
      `sent a test message through ${terminalText(outcome.channel)} (${terminalText(outcome.destination)})\n`,
    );
  else {
    const r = outcome.result;
    io.stdout.write(
      `the test message through ${terminalText(outcome.channel)} (${terminalText(outcome.destination)}) failed: ${terminalText(r.reason)}${r.retryable ? ' (temporary: try again later)' : ''}\n`,
    );
  }
  if (outcome.result.outcome !== 'sent') process.exitCode = 1;
}
