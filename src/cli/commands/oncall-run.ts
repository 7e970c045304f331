import { parseOnCallAt } from '../../config/command-options.js';
import { onCallReport, type OnCallReport } from '../../app/paging-queries.js';
import { loadConfigOrThrow } from '../../config/config-file.js';
import { parseServerClientOptions, resolveConfigPath } from '../../config/server-options.js';
import { systemClock } from '../../platform/system-clock.js';
import { ServerClient } from '../server-client.js';
import { terminalText } from '../terminal-text.js';
import type { OnCallFlags } from './oncall-command.js';

export interface OnCallIo {
  readonly stdout: NodeJS.WritableStream;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** `hindsight oncall`: from a server with --server (or HINDSIGHT_SERVER without a file), else from the file. */
export async function runOnCall(
  flags: OnCallFlags,
  io: OnCallIo = { stdout: process.stdout },
): Promise<void> {
  const at = flags.at === undefined ? (io.now ?? systemClock.now)() : parseOnCallAt(flags.at);
  let report: OnCallReport;
  const configPath = flags.server === undefined ? resolveConfigPath(flags.config) : null;
  if (configPath !== null) {
    report = onCallReport((await loadConfigOrThrow(configPath)).paging, at);
  } else {
    const client = new ServerClient(parseServerClientOptions(flags), io.fetch);
    report = (await client.get(`/api/v1/oncall?at=${at}`)) as OnCallReport;
  }
  io.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderOnCall(report));
}

const local = (ms: number | null, timeZone: string): string =>
  ms === null || !Number.isFinite(ms)
    ? '…'
    : new Intl.DateTimeFormat('en-GB', {
        timeZone,
        weekday: 'short',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(ms);

export function renderOnCall(report: OnCallReport): string {
  if (report.schedules.length === 0) return 'no schedules are configured (declare them under schedules:)\n';
  const lines = [`on call at ${new Date(report.at).toISOString()}`];
  for (const s of report.schedules) {
    const who = s.user === null ? 'nobody' : terminalText(s.user);
    const span =
      s.user === null
        ? ''
        : ` from ${local(s.from, s.timeZone)} until ${local(s.until, s.timeZone)} (${s.timeZone})${s.source === 'override' ? ', override' : ''}`;
    lines.push(`  ${terminalText(s.schedule)}: ${who}${span}`);
  }
  return `${lines.join('\n')}\n`;
}
