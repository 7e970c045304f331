import type { Alert } from '../core/alert.js';
import { formatDuration } from '../core/duration-format.js';
import type { Finding } from '../core/finding.js';
import type { Incident, TimelineEntry } from '../core/incident.js';
import type { IncidentAppSide } from '../core/incident-app-side.js';
import type { IncidentLoad } from '../core/incident-load.js';
import { describeIncidentLoad } from '../core/incident-load.js';
import { formatMinutes, formatPercent } from '../core/share-format.js';
import { findingTime } from '../core/incident-store.js';
import { describeFinding } from './finding-line.js';
import { oneLine, terminalText } from './terminal-text.js';

export interface IncidentDetail {
  readonly incident: Incident;
  readonly timeline: readonly TimelineEntry[];
  readonly alerts: readonly Alert[];
  readonly evidence: readonly Finding[];
  /** The web app's side (absent from servers older than issue 10). */
  readonly impact?: IncidentAppSide['impact'];
  readonly attribution?: IncidentAppSide['attribution'];
  readonly onsetDeploy?: IncidentAppSide['onsetDeploy'];
  /** Working or waiting (absent from servers older than issue 12's alerts). */
  readonly load?: IncidentLoad | null;
}

const pad = (text: string, width: number): string => text.padEnd(width);

/** `hindsight incidents`: id, state, service, age, summary — one line each, cut to the terminal's width (whole when piped). */
export function renderIncidentTable(incidents: readonly Incident[], now: number, columns = 120): string {
  if (incidents.length === 0) return 'no incidents\n';
  const rows = incidents.map((i) => [i.id, i.state, i.service, formatDuration(now - i.createdAt)] as const);
  const widths = [0, 1, 2, 3].map((c) =>
    Math.max(['ID', 'STATE', 'SERVICE', 'AGE'][c]?.length ?? 0, ...rows.map((r) => r[c]?.length ?? 0)),
  );
  const head = (cells: readonly string[]): string =>
    cells.map((cell, c) => pad(cell, widths[c] ?? 0)).join('  ');
  const used = widths.reduce((a, b) => a + b + 2, 0);
  const summaryWidth = Math.max(20, columns - used);
  const lines = [`${head(['ID', 'STATE', 'SERVICE', 'AGE'])}  SUMMARY`];
  incidents.forEach((incident, index) => {
    const row = rows[index] ?? ['', '', '', ''];
    lines.push(
      `${head(row.map(terminalText))}  ${oneLine(incident.summary || incident.title, summaryWidth)}`,
    );
  });
  return `${lines.join('\n')}\n`;
}

const time = (at: number): string =>
  new Date(at)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');

/** `hindsight incident show`: the record with its alerts, timeline and evidence (each finding whole: its statements are the point). */
export function renderIncidentDetail(detail: IncidentDetail, now: number): string {
  const i = detail.incident;
  const lines = [
    `${terminalText(i.id)}  ${terminalText(i.title)}`,
    `  state     ${i.state} (${i.severity}), service ${terminalText(i.service)}`,
    `  opened    ${time(i.createdAt)} (${formatDuration(now - i.createdAt)} ago)`,
  ];
  for (const [label, at] of [
    ['acked', i.acknowledgedAt],
    ['mitigated', i.mitigatedAt],
    ['resolved', i.resolvedAt],
    ['closed', i.closedAt],
    ['cancelled', i.cancelledAt],
  ] as const) {
    if (at !== null) lines.push(`  ${pad(label, 9)} ${time(at)}`);
  }
  lines.push('', `  ${terminalText(i.summary)}`);
  lines.push(...appSideLines(detail));
  if (detail.alerts.length > 0) {
    lines.push('', `alerts (${detail.alerts.length}):`);
    for (const a of detail.alerts) {
      lines.push(
        `  ${a.status === 'firing' ? 'FIRING  ' : 'resolved'}  ${a.severity}  ${oneLine(a.summary, 100)}  [${terminalText(a.source)}${a.rule === null ? '' : ` ${terminalText(a.rule)}`}]`,
      );
    }
  }
  lines.push('', 'timeline:');
  for (const e of detail.timeline) {
    const mark = e.deadEnd ? ' [dead end]' : '';
    lines.push(
      `  ${time(e.at)}  ${pad(terminalText(e.actor), 16)}  ${pad(e.kind, 15)}  ${terminalText(e.text).replace(/\n/g, '\n      ')}${mark}`,
    );
  }
  if (detail.evidence.length > 0) {
    lines.push('', `evidence (${detail.evidence.length} findings):`);
    for (const f of detail.evidence)
      lines.push(
        `  ${time(findingTime(f))}  ${terminalText(f.id)}  ${oneLine(describeFinding(f), Number.POSITIVE_INFINITY)}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

/** Impact, onset deploy and attribution: every string from the monitored world through `terminalText`. */
function appSideLines(detail: IncidentDetail): string[] {
  const head: string[] = [];
  const impact = detail.impact ?? null;
  if (impact !== null) {
    const bound = impact.truncated ? ' (at least: user sets were cut)' : '';
    head.push(
      `  impact    ${formatPercent(impact.share)} of users affected: ${String(impact.affectedUsers)} of ${String(impact.activeUsers)} active in ${formatDuration(impact.windowMs)}${bound}`,
    );
  }
  const load = detail.load ?? null;
  if (load !== null)
    head.push(
      `  load      ${describeIncidentLoad(load)} (${terminalText(load.target)}, ${time(load.at)}, ${String(Math.round(load.active * 10) / 10)} active)`,
    );
  const deploy = detail.onsetDeploy ?? null;
  if (deploy !== null) {
    const commit = deploy.commit === null ? '' : ` (${terminalText(deploy.commit)})`;
    head.push(
      `  onset     began ${formatMinutes(deploy.minutesBeforeOnset * 60_000)} after deploy ${terminalText(deploy.version)}${commit} at ${time(deploy.at)}`,
    );
  }
  const causes = (detail.attribution ?? []).map((a) => {
    const what =
      [a.sqlstate, a.errorClass]
        .filter((x): x is string => x !== null)
        .map(terminalText)
        .join(' ') || 'unknown';
    const at = a.callSite === null ? '' : ` at ${terminalText(a.callSite)}`;
    const query = a.query === null ? '' : `: ${oneLine(a.query, 80)}`;
    return `  ${formatPercent(a.share).padStart(4)} of ${terminalText(a.route)} (${String(a.failures)})  ${what}${at}${query}`;
  });
  return [
    ...(head.length === 0 ? [] : ['', ...head]),
    ...(causes.length === 0 ? [] : ['', 'failures by cause:', ...causes]),
  ];
}
