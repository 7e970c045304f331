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

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (sql: string, max = 160): string => `\`${cell(oneLine(sql, max)).replaceAll('`', "'")}\``;

/** The report as Markdown (for an issue, a postmortem or a pull request): causes first. */
export function renderMarkdown(report: AnalysisReport): string {
  const out: string[] = [];
  out.push('# PostgreSQL log analysis', '');
  out.push(
    `${describeSpan(report)} in ${report.inputs.map((i) => `\`${i.name}\` (${i.format})`).join(', ')}.`,
    '',
  );
  for (const line of report.headline) out.push(`> **${line}**`, '>');
  if (report.headline.length > 0) out.pop();

  const d = report.deadlocks;
  out.push('', `## Deadlocks: ${formatCount(d.total)}`, '');
  if (d.groups.length > 0) {
    out.push('| # | count | first | last | locks | statements in the cycle |', '|---|---:|---|---|---|---|');
    d.groups.forEach((g, i) => {
      out.push(
        `| ${i + 1} | ${g.count} | ${formatTime(g.first)} | ${formatTime(g.last)} | ${cell(g.modes.join(', '))}${g.relations.length ? ` on ${cell(g.relations.join(', '))}` : ''} | ${g.signature.map((q) => code(q)).join('<br>')} |`,
      );
    });
    const example = d.groups[0]?.example;
    if (example) {
      out.push(
        '',
        `Example (signature 1) at ${formatTime(example.at)}, victim pid ${example.victimPid ?? '?'}:`,
        '',
        '```',
      );
      for (const p of example.processes)
        out.push(
          `Process ${p.pid} waits for ${p.waitsForMode} on ${p.waitsForObject}; blocked by process ${p.blockedBy}.`,
        );
      for (const p of example.processes)
        out.push(`Process ${p.pid}: ${example.statements[String(p.pid)] ?? p.query ?? '?'}`);
      out.push('```');
    }
  }

  const b = report.blocking;
  out.push('', `## Blocking: ${plural(b.waits, 'lock wait')}, ${formatMs(b.durations.totalMs)} waited`, '');
  if (b.waits > 0) {
    out.push(
      `Endings: ${Object.entries(b.endings)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${formatCount(n)}`)
        .join(
          ', ',
        )}. Wait p50 ${formatMs(b.durations.p50Ms)}, p95 ${formatMs(b.durations.p95Ms)}, max ${formatMs(b.durations.maxMs)}.`,
      '',
    );
    out.push(
      '| blocker | waits caused | wait time caused | longest | application | last logged statement |',
      '|---|---:|---:|---:|---|---|',
    );
    for (const x of b.blockers.slice(0, 15))
      out.push(
        `| ${x.pid === null ? '(other)' : `pid ${x.pid}`} | ${x.waits} | ${formatMs(x.waitMs)} | ${formatMs(x.maxMs)} | ${cell(x.application ?? '')} | ${x.lastStatement ? code(x.lastStatement) : ''} |`,
      );
    out.push('', '| lock waited for | waits | wait time |', '|---|---:|---:|');
    for (const t of b.targets.slice(0, 10))
      out.push(`| ${cell(t.lock)} | ${t.waits} | ${formatMs(t.waitMs)} |`);
  }

  const t = report.timeouts;
  out.push('', '## Timeouts and serialization failures', '');
  out.push(
    `| lock timeouts | NOWAIT failures | statement timeouts | cancels | serialization failures |`,
    '|---:|---:|---:|---:|---:|',
  );
  out.push(
    `| ${t.lockTimeouts} | ${t.lockNowait} | ${t.statementTimeouts} | ${t.cancels} | ${t.serializationFailures} |`,
  );

  const e = report.errors;
  out.push('', `## Errors: ${formatCount(e.total)}`, '');
  if (e.total > 0) {
    out.push(
      `By class: ${e.byClass.map((x) => `${x.class} (${x.name}) ${formatCount(x.count)}`).join(', ')}.`,
      '',
    );
    out.push('| count | SQLSTATE | severity | message | example statement |', '|---:|---|---|---|---|');
    for (const g of e.groups.slice(0, 25))
      out.push(
        `| ${g.count} | ${g.sqlstate} | ${g.severity} | ${cell(oneLine(g.message, 140))} | ${g.example ? code(g.example, 100) : ''} |`,
      );
  }

  const s = report.slowQueries;
  out.push('', `## Slow queries: ${plural(s.all.count, 'statement')}, ${formatMs(s.all.totalMs)}`, '');
  if (s.all.count > 0) {
    out.push(
      `${percent(s.lockWaitShare)} of this time was spent waiting on locks; ${plural(s.victims, 'execution')} were victims of a lock wait.`,
      '',
    );
    out.push(
      '| total | count | p50 | p95 | max | victims (lock wait) | statement |',
      '|---:|---:|---:|---:|---:|---|---|',
    );
    for (const g of s.groups.slice(0, 20))
      out.push(
        `| ${formatMs(g.totalMs)} | ${g.count} | ${formatMs(g.p50Ms)} | ${formatMs(g.p95Ms)} | ${formatMs(g.maxMs)} | ${g.victims > 0 ? `**${g.victims}** (${formatMs(g.lockWaitMs)})` : ''} | ${code(g.fingerprint)} |`,
      );
  }

  out.push('', '## Sessions, checkpoints, temp files, autovacuum', '');
  out.push(
    `- Sessions: ${formatCount(report.sessions.connections)} connections, ${formatCount(report.sessions.authorized)} authorized, ${formatCount(report.sessions.disconnections)} disconnections.`,
  );
  out.push(
    `- Checkpoints: ${formatCount(report.checkpoints.completed)} completed${report.checkpoints.durations.count ? `, max ${formatMs(report.checkpoints.durations.maxMs)}` : ''}.`,
  );
  out.push(`- Temp files: ${formatCount(report.tempFiles.count)}, ${formatBytes(report.tempFiles.bytes)}.`);
  out.push(
    `- Autovacuum: ${formatCount(report.autovacuum.vacuums)} vacuums, ${formatCount(report.autovacuum.analyzes)} analyzes.`,
  );

  out.push('', '## Input', '');
  for (const i of report.inputs) {
    const skipped = Object.entries(i.skipped).filter(([, n]) => n > 0);
    out.push(
      `- \`${i.name}\`: ${i.format}, ${formatBytes(i.bytes)}, ${plural(i.entries, 'entry', 'entries')}${skipped.length ? `; skipped ${skipped.map(([why, n]) => `${formatCount(n)} ${why}`).join(', ')}` : ''}.`,
    );
    for (const w of i.warnings) out.push(`  - warning: ${w}`);
  }
  return `${out.join('\n')}\n`;
}
