import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AnalysisReport } from './analysis-report.js';
import {
  formatBytes,
  formatCount,
  formatMs,
  formatTime,
  oneLine,
  percent,
  plural,
  describeSpan,
} from './report-format.js';

const esc = (text: string): string =>
  text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
const sql = (text: string, max = 200): string => `<code>${esc(oneLine(text, max))}</code>`;
/** JSON inside <script>: `</script>` and U+2028/9 must not end or break it. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');

/** uPlot's script and style, read from node_modules and inlined so that the page needs no network (ADR 0004). */
async function loadUplot(): Promise<{ script: string; style: string }> {
  const require = createRequire(import.meta.url);
  const [script, style] = await Promise.all([
    readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  ]);
  return { script: script.replaceAll('</script', '<\\/script'), style };
}

const table = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
  rows.length === 0
    ? '<p class="none">none</p>'
    : `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

/** Past this many minutes (two weeks) the charts keep only the minutes with data. */
const MAX_CHART_MINUTES = 20_160;

/** A headline line: plain text with `query` spans shown as code, not as literal backticks. */
const headlineHtml = (line: string): string => esc(line).replace(/`([^`]+)`/g, '<code>$1</code>');

/** One self-contained HTML page: headline, the causes (deadlocks, blockers, timeouts, errors, slow-query victims), then charts per minute. */
export async function renderHtml(report: AnalysisReport): Promise<string> {
  const { script, style } = await loadUplot();
  const d = report.deadlocks;
  const b = report.blocking;
  const s = report.slowQueries;
  const e = report.errors;
  const t = report.timeouts;
  // Every minute of the span, so that a minute without any log entry is a gap (null), never a
  // line drawn straight across it; minutes with entries but no deadlock are zeros.
  const byMinute = new Map(report.timeline.map((m) => [Date.parse(m.minute) / 1000, m] as const));
  const first = Math.min(...byMinute.keys());
  const last = Math.max(...byMinute.keys());
  const minutes =
    byMinute.size === 0 || (last - first) / 60 > MAX_CHART_MINUTES
      ? [...byMinute.keys()]
      : Array.from({ length: (last - first) / 60 + 1 }, (_, i) => first + i * 60);
  const column = (pick: (m: AnalysisReport['timeline'][number]) => number): (number | null)[] =>
    minutes.map((t) => {
      const m = byMinute.get(t);
      return m === undefined ? null : pick(m);
    });
  const series = {
    minutes,
    entries: column((m) => m.entries),
    errors: column((m) => m.errors),
    lockWaits: column((m) => m.lockWaits),
    waitSeconds: column((m) => m.waitMs / 1000),
    deadlocks: column((m) => m.deadlocks),
  };
  const deadlockSections = d.groups
    .map((g, i) => {
      const example = g.example.processes
        .map(
          (p) =>
            `Process ${p.pid} waits for ${p.waitsForMode} on ${p.waitsForObject}; blocked by process ${p.blockedBy}.\nProcess ${p.pid}: ${g.example.statements[String(p.pid)] ?? p.query ?? '?'}`,
        )
        .join('\n');
      return `<div class="card"><h3>#${i + 1} · ${g.count}× · ${esc(formatTime(g.first))} → ${esc(formatTime(g.last))}</h3>
<p>${esc(g.modes.join(', '))}${g.relations.length ? ` on ${esc(g.relations.join(', '))}` : ''}</p>
<ul>${g.signature.map((q) => `<li>${sql(q, 400)}</li>`).join('')}</ul>
<details><summary>Example at ${esc(formatTime(g.example.at))}, victim pid ${g.example.victimPid ?? '?'}</summary><pre>${esc(example)}</pre></details></div>`;
    })
    .join('\n');
  const body = `
<header><h1>PostgreSQL log analysis</h1>
<p>${esc(describeSpan(report))} · ${report.inputs.map((i) => `<code>${esc(i.name)}</code> (${esc(i.format)}, ${esc(formatBytes(i.bytes))})`).join(', ')}</p></header>
<section class="headline">${report.headline.map((h) => `<p>${headlineHtml(h)}</p>`).join('')}</section>
<section><h2>Deadlocks: ${formatCount(d.total)}</h2>${deadlockSections || '<p class="none">none</p>'}</section>
<section><h2>Blocking: ${esc(plural(b.waits, 'lock wait'))}, ${esc(formatMs(b.durations.totalMs))} waited</h2>
<p>Ended: ${esc(
    Object.entries(b.endings)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${formatCount(n)}`)
      .join(', ') || '—',
  )}</p>
${table(
  ['blocker', 'waits caused', 'wait time caused', 'longest', 'application', 'last logged statement'],
  b.blockers.map((x) => [
    x.pid === null ? '(other)' : `pid ${x.pid}`,
    String(x.waits),
    esc(formatMs(x.waitMs)),
    esc(formatMs(x.maxMs)),
    esc(x.application ?? ''),
    x.lastStatement ? sql(x.lastStatement) : '',
  ]),
)}
${table(
  ['lock waited for', 'waits', 'wait time'],
  b.targets.map((x) => [esc(x.lock), String(x.waits), esc(formatMs(x.waitMs))]),
)}</section>
<section><h2>Timeouts and serialization failures</h2>
${table(['lock timeouts', 'NOWAIT failures', 'statement timeouts', 'cancels', 'serialization failures'], [[String(t.lockTimeouts), String(t.lockNowait), String(t.statementTimeouts), String(t.cancels), String(t.serializationFailures)]])}</section>
<section><h2>Errors: ${formatCount(e.total)}</h2>
${table(
  ['class', 'name', 'count'],
  e.byClass.map((x) => [esc(x.class), esc(x.name), String(x.count)]),
)}
${table(
  ['count', 'SQLSTATE', 'severity', 'message', 'example'],
  e.groups.map((g) => [
    String(g.count),
    esc(g.sqlstate),
    esc(g.severity),
    esc(oneLine(g.message, 200)),
    g.example ? sql(g.example, 120) : '',
  ]),
)}</section>
<section><h2>Slow queries: ${esc(plural(s.all.count, 'statement'))}, ${esc(formatMs(s.all.totalMs))}</h2>
<p>${esc(percent(s.lockWaitShare))} of this time was spent waiting on locks; ${esc(plural(s.victims, 'execution'))} ${s.victims === 1 ? 'was a victim' : 'were victims'} of a lock wait.</p>
${table(
  ['total', 'count', 'p50', 'p95', 'max', 'victims', 'statement'],
  s.groups.map((g) => [
    esc(formatMs(g.totalMs)),
    String(g.count),
    esc(formatMs(g.p50Ms)),
    esc(formatMs(g.p95Ms)),
    esc(formatMs(g.maxMs)),
    g.victims > 0 ? `<b class="victim">${g.victims} (${esc(formatMs(g.lockWaitMs))} waiting)</b>` : '',
    sql(g.fingerprint),
  ]),
)}</section>
<section><h2>Per minute (UTC)</h2><p class="none">Gaps are minutes without any log entry.</p><div id="chart-events"></div><div id="chart-waits"></div><div id="chart-deadlocks"></div></section>
<section><h2>Sessions, checkpoints, temp files, autovacuum</h2><ul>
<li>${formatCount(report.sessions.connections)} connections, ${formatCount(report.sessions.authorized)} authorized, ${formatCount(report.sessions.disconnections)} disconnections</li>
<li>${formatCount(report.checkpoints.completed)} checkpoints</li>
<li>${formatCount(report.tempFiles.count)} temp files, ${esc(formatBytes(report.tempFiles.bytes))}</li>
<li>${formatCount(report.autovacuum.vacuums)} autovacuums, ${formatCount(report.autovacuum.analyzes)} autoanalyzes</li></ul></section>
<section><h2>Input</h2><ul>${report.inputs
    .map((i) => {
      const skipped = Object.entries(i.skipped).filter(([, n]) => n > 0);
      return `<li><code>${esc(i.name)}</code>: ${esc(i.format)}, ${esc(plural(i.entries, 'entry', 'entries'))}${skipped.length ? `; skipped ${esc(skipped.map(([why, n]) => `${formatCount(n)} ${why}`).join(', '))}` : ''}${i.warnings.map((w) => `<br><span class="warn">${esc(w)}</span>`).join('')}</li>`;
    })
    .join('')}</ul></section>`;
  const charts = `
const data = JSON.parse(document.getElementById('series').textContent);
const width = () => Math.min(1100, document.body.clientWidth - 40);
// One minute of padding each side: uPlot's own range for a single point spans years.
const bars = uPlot.paths.bars({ size: [0.8, 40] });
// Counts start at zero (a bar from 4,000 would misstate the minute), and times are UTC like the report's.
const fromZero = (u, min, max) => [0, max > 0 ? max * 1.1 : 1];
const utcTimes = (u, splits) => {
  const days = (u.scales.x.max - u.scales.x.min) > 86400;
  return splits.map((t) => new Date(t * 1000).toISOString().slice(days ? 5 : 11, 16).replace('T', ' '));
};
// Ticks on whole minutes (the data is per minute), coarser as the window grows.
const minuteTicks = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
// Kept on window so the page can be inspected (and is, by the Chromium test).
const charts = (window.hindsightCharts = []);
function chart(id, title, series) {
  if (data.minutes.length === 0) return;
  charts.push(new uPlot({ title, width: width(), height: 200,
    scales: { x: { time: true, auto: false, range: [data.minutes[0] - 60, data.minutes[data.minutes.length - 1] + 60] }, y: { range: fromZero }, y2: { range: fromZero } },
    // Bars for the main count, a line with points for the second axis: two bar series at the
    // same minutes would draw over each other.
    series: [{}, ...series.map((s) => (s.scale === 'y2' ? { label: s.label, stroke: s.color, width: 2, points: { show: true, size: 5 }, scale: 'y2' } : { label: s.label, stroke: s.color, fill: s.color + '55', paths: bars, scale: 'y' }))],
    axes: [{ values: utcTimes, incrs: minuteTicks }, { scale: 'y', size: 64 }, ...(series.some((s) => s.scale === 'y2') ? [{ scale: 'y2', side: 1, size: 56, grid: { show: false } }] : [])] },
    [data.minutes, ...series.map((s) => data[s.key])], document.getElementById(id)));
}
chart('chart-events', 'Log entries and errors per minute', [{ key: 'entries', label: 'entries', color: '#4a7bd0' }, { key: 'errors', label: 'errors', color: '#d04a4a', scale: 'y2' }]);
chart('chart-waits', 'Lock waits per minute', [{ key: 'lockWaits', label: 'lock waits', color: '#d0a24a' }, { key: 'waitSeconds', label: 'seconds waited', color: '#7a4ad0', scale: 'y2' }]);
chart('chart-deadlocks', 'Deadlocks per minute', [{ key: 'deadlocks', label: 'deadlocks', color: '#d04a4a' }]);`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hindsight · PostgreSQL log analysis</title>
<style>${style}
body{font:14px/1.45 system-ui,sans-serif;margin:20px;color:#1d2330;max-width:1200px}
h1{margin:0 0 4px}h2{margin-top:28px;border-bottom:1px solid #dde}
.headline p{font-size:17px;font-weight:600;background:#fff4d6;border-left:4px solid #e0a400;padding:8px 12px;margin:6px 0}
table{border-collapse:collapse;margin:8px 0;width:100%}th,td{border-bottom:1px solid #e4e6ee;padding:4px 8px;text-align:left;vertical-align:top}
code{font:12px ui-monospace,monospace;background:#f3f4f8;padding:1px 3px;border-radius:3px}pre{background:#f3f4f8;padding:8px;overflow:auto}
.card{border:1px solid #e4e6ee;border-radius:6px;padding:4px 12px;margin:8px 0}.none{color:#889}.victim{color:#b36b00}.warn{color:#b36b00}
</style></head><body>${body}
<script type="application/json" id="series">${scriptJson(series)}</script>
<script type="application/json" id="report">${scriptJson(report)}</script>
<script>${script}</script>
<script>${charts}</script>
</body></html>
`;
}
