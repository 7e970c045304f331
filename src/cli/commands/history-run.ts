import type { Finding } from '../../core/finding.js';
import { findingTime } from '../../core/incident-store.js';
import { parseHistoryOptions } from '../../config/history-options.js';
import { systemClock } from '../../platform/system-clock.js';
import { describeFinding } from '../finding-line.js';
import { ServerClient } from '../server-client.js';
import { terminalText } from '../terminal-text.js';
import type { HistoryFlags } from './history-command.js';

export interface HistoryIo {
  readonly stdout: NodeJS.WritableStream;
  readonly fetch?: typeof fetch;
  readonly now?: number;
}

const PAGE = 1000;

/** `hindsight history TARGET`: GET /api/v1/findings page after page (the keyset cursor), oldest first. */
export async function printHistory(
  target: string,
  flags: HistoryFlags,
  io: HistoryIo = { stdout: process.stdout },
): Promise<void> {
  const options = parseHistoryOptions(
    target,
    {
      ...(flags.server === undefined ? {} : { server: flags.server }),
      ...(flags.token === undefined ? {} : { token: flags.token }),
      ...(flags.since === undefined ? {} : { since: flags.since }),
      ...(flags.until === undefined ? {} : { until: flags.until }),
      ...(flags.kind === undefined ? {} : { kind: flags.kind }),
      ...(flags.limit === undefined ? {} : { limit: flags.limit }),
      ...(flags.metric === undefined ? {} : { metric: flags.metric }),
    },
    io.now ?? systemClock.now(),
  );
  const client = new ServerClient({ server: options.server, token: options.token }, io.fetch);
  const seriesPath = (metric: string): string => {
    const query = new URLSearchParams({ metric, from: String(options.since) });
    if (options.until !== null) query.set('to', String(options.until));
    return `/api/v1/targets/${encodeURIComponent(options.target)}/series?${query.toString()}`;
  };
  if (options.metric !== null) {
    // A target nobody knows answers 404 with a message naming it: reported like any server error.
    const series = (await client.get(seriesPath(options.metric))) as {
      resolutionMs: number;
      points: { at: number; value: number | null }[];
    };
    if (flags.json) {
      io.stdout.write(`${JSON.stringify({ target: options.target, metric: options.metric, ...series })}\n`);
      return;
    }
    const known = series.points.filter((p) => p.value !== null);
    io.stdout.write(
      `${options.metric} on ${terminalText(options.target)}: ${known.length} points at ${series.resolutionMs / 1000} s since ${new Date(options.since).toISOString()}\n`,
    );
    for (const p of known) io.stdout.write(`${new Date(p.at).toISOString()} ${String(p.value)}\n`);
    return;
  }
  const findings: Finding[] = [];
  let after: string | null = null;
  do {
    const query = new URLSearchParams({ target: options.target, since: String(options.since) });
    if (options.until !== null) query.set('until', String(options.until));
    if (options.kinds !== null) query.set('kind', options.kinds.join(','));
    query.set('limit', String(Math.min(PAGE, options.limit - findings.length)));
    if (after !== null) query.set('after', after);
    const page = (await client.get(`/api/v1/findings?${query.toString()}`)) as {
      findings: Finding[];
      next: string | null;
    };
    findings.push(...page.findings);
    after = page.next;
  } while (after !== null && findings.length < options.limit);
  // Nothing found on a name nobody knows is a typo more often than a quiet target: the series
  // route answers 404 for it, and that error (naming the target) is what the user sees.
  if (findings.length === 0) await client.get(seriesPath('connections'));

  if (flags.json) {
    io.stdout.write(
      `${JSON.stringify({ target: options.target, since: options.since, until: options.until, findings })}\n`,
    );
    return;
  }
  const window = `since ${new Date(options.since).toISOString()}${options.until === null ? '' : ` until ${new Date(options.until).toISOString()}`}`;
  if (findings.length === 0) {
    io.stdout.write(`nothing found on ${terminalText(options.target)} ${window}\n`);
    return;
  }
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  const tally = [...counts].map(([kind, n]) => `${n} ${kind.replaceAll('_', ' ')}`).join(', ');
  io.stdout.write(`${findings.length} findings on ${terminalText(options.target)} ${window}: ${tally}\n`);
  for (const f of findings)
    io.stdout.write(`${new Date(findingTime(f)).toISOString().slice(0, 10)} ${describeFinding(f)}\n`);
  if (after !== null) io.stdout.write(`(more: raise --limit or narrow --since/--until)\n`);
}
