import pc from 'picocolors';
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

const SPARK = ' ▁▂▃▄▅▆▇█';

/** A column wide enough for the largest count as printed (`1,656,000`), and at least 7. */
const countWidth = (counts: readonly number[]): number =>
  Math.max(7, ...counts.map((n) => formatCount(n).length));

/** A count series as one line of block characters: `·` for zero, a blank for no data at all. */
export function sparkline(values: readonly (number | null)[]): string {
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  return values
    .map((v) => (v === null ? ' ' : v === 0 ? '·' : (SPARK[Math.max(1, Math.ceil((v / max) * 8))] ?? '█')))
    .join('');
}

/** Cell sizes a reader can name, in minutes. */
const BUCKETS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080];

/**
 * Per-minute points (ISO minute, count) laid out over their whole span, every minute included,
 * in cells of the smallest named size that fits `width`: a 164-minute span is 33 cells of 5
 * minutes, not 2 cells for the 2 minutes that had data. A cell with no point is null (no data).
 */
export function spanCells(
  points: readonly (readonly [string, number])[],
  width = 60,
): { readonly cells: (number | null)[]; readonly minutes: number } {
  const at = points.map(([minute, n]) => [Math.floor(Date.parse(minute) / 60_000), n] as const);
  const first = Math.min(...at.map(([m]) => m));
  const last = Math.max(...at.map(([m]) => m));
  const span = last - first + 1;
  const minutes = BUCKETS.find((b) => Math.ceil(span / b) <= width) ?? Math.ceil(span / width);
  const cells: (number | null)[] = Array.from({ length: Math.ceil(span / minutes) }, () => null);
  for (const [m, n] of at) {
    const i = Math.floor((m - first) / minutes);
    cells[i] = (cells[i] ?? 0) + n;
  }
  return { cells, minutes };
}

const cellLabel = (minutes: number): string =>
  minutes === 1 ? 'per minute' : minutes % 60 === 0 ? `per ${minutes / 60} h` : `per ${minutes} minutes`;

/** The terminal report: headline, then causes (deadlocks, blocking, timeouts), then symptoms. */
export function renderText(report: AnalysisReport, options: { readonly color: boolean }): string {
  const c = pc.createColors(options.color);
  const out: string[] = [];
  const heading = (title: string, summary: string): void => {
    out.push('', `${c.bold(title)}  ${summary}`);
  };
  const files = report.inputs.map((i) => `${i.name} (${i.format}, ${formatBytes(i.bytes)})`).join(', ');
  out.push(`${c.bold('hindsight analyze')}  ${files}`);
  out.push(describeSpan(report));
  out.push('');
  for (const line of report.headline) out.push(c.bold(c.yellow(`» ${line}`)));

  const d = report.deadlocks;
  heading(
    'DEADLOCKS',
    d.total === 0 ? 'none' : `${formatCount(d.total)} in ${plural(d.groups.length, 'signature')}`,
  );
  d.groups.forEach((g, i) => {
    out.push(
      `  #${i + 1}  ${c.red(`${g.count}×`)}  ${formatTime(g.first)} → ${formatTime(g.last)}  ${g.modes.join(', ')}${g.relations.length ? ` on ${g.relations.join(', ')}` : ''}`,
    );
    for (const q of g.signature) out.push(`      ${c.cyan(oneLine(q, 140))}`);
    out.push(`      example at ${formatTime(g.example.at)}, victim pid ${g.example.victimPid ?? '?'}:`);
    for (const p of g.example.processes) {
      out.push(
        `        pid ${p.pid} waits for ${p.waitsForMode} on ${p.waitsForObject}, blocked by ${p.blockedBy}: ${oneLine(g.example.statements[String(p.pid)] ?? p.query ?? '?', 100)}`,
      );
    }
    if (g.perMinute.length > 1) {
      // Minutes without a deadlock of this group are zeros, not missing data.
      const { cells, minutes } = spanCells(g.perMinute);
      out.push(`      ${cellLabel(minutes)} ${sparkline(cells.map((v) => v ?? 0))}`);
    }
  });

  const b = report.blocking;
  const endings = Object.entries(b.endings)
    .filter(([, n]) => n > 0)
    .map(([ending, n]) => `${ending} ${formatCount(n)}`)
    .join(', ');
  heading(
    'BLOCKING',
    b.waits === 0
      ? 'no lock waits logged'
      : `${plural(b.waits, 'lock wait')}, ${formatMs(b.durations.totalMs)} in all (p50 ${formatMs(b.durations.p50Ms)}, p95 ${formatMs(b.durations.p95Ms)}, max ${formatMs(b.durations.maxMs)}); ended: ${endings}`,
  );
  if (b.blockers.length > 0) {
    out.push('  blockers, by the wait time they caused:');
    for (const x of b.blockers.slice(0, 10)) {
      const who = x.pid === null ? '(other pids)' : `pid ${x.pid}`;
      const meta = [x.application, x.user && x.database ? `${x.user}@${x.database}` : (x.user ?? x.database)]
        .filter((v) => v)
        .join(' ');
      out.push(
        `    ${c.red(who.padEnd(11))} ${formatMs(x.waitMs).padStart(9)}  ${plural(x.waits, 'wait').padEnd(9)} ${meta ? `${meta}  ` : ''}${x.lastStatement ? `last logged: ${c.cyan(oneLine(x.lastStatement, 90))}` : ''}`,
      );
    }
  }
  if (b.targets.length > 0) {
    out.push('  locks waited for:');
    for (const t of b.targets.slice(0, 5))
      out.push(`    ${formatMs(t.waitMs).padStart(9)}  ${plural(t.waits, 'wait').padEnd(9)} ${t.lock}`);
  }
  if (b.waiters.length > 0) {
    out.push('  statements that waited:');
    for (const w of b.waiters.slice(0, 5))
      out.push(
        `    ${formatMs(w.waitMs).padStart(9)}  ${plural(w.waits, 'wait').padEnd(9)} ${c.cyan(oneLine(w.statement, 110))}`,
      );
  }

  const t = report.timeouts;
  heading(
    'TIMEOUTS',
    `lock timeouts ${formatCount(t.lockTimeouts)}, NOWAIT failures ${formatCount(t.lockNowait)}, statement timeouts ${formatCount(t.statementTimeouts)}, cancels ${formatCount(t.cancels)}, serialization failures ${formatCount(t.serializationFailures)}`,
  );

  const e = report.errors;
  heading(
    'ERRORS',
    e.total === 0
      ? 'none'
      : `${formatCount(e.total)}: ${e.byClass.map((x) => `${x.class} ${x.name} ${formatCount(x.count)}`).join('; ')}`,
  );
  const errorRows = e.groups.slice(0, 15);
  const errorWidth = countWidth(errorRows.map((g) => g.count));
  for (const g of errorRows)
    out.push(
      `  ${formatCount(g.count).padStart(errorWidth)}  ${g.sqlstate.padEnd(7)} ${g.severity.padEnd(7)} ${oneLine(g.message, 110)}`,
    );

  const s = report.slowQueries;
  heading(
    'SLOW QUERIES',
    s.all.count === 0
      ? 'no durations logged (log_min_duration_statement is off?)'
      : `${plural(s.all.count, 'statement')}, ${formatMs(s.all.totalMs)} in all; ${percent(s.lockWaitShare)} of it waiting on locks (${plural(s.victims, 'victim')})`,
  );
  const slowRows = s.groups.slice(0, 15);
  const slowWidth = countWidth(slowRows.map((g) => g.count));
  if (s.groups.length > 0)
    out.push(
      `  ${'total'.padStart(9)} ${'count'.padStart(slowWidth)} ${'p50'.padStart(9)} ${'p95'.padStart(9)} ${'max'.padStart(9)}  statement`,
    );
  for (const g of slowRows) {
    const victim =
      g.victims > 0
        ? c.yellow(` [victim ${g.victims}× of lock waits, ${formatMs(g.lockWaitMs)} waiting]`)
        : '';
    out.push(
      `  ${formatMs(g.totalMs).padStart(9)} ${formatCount(g.count).padStart(slowWidth)} ${formatMs(g.p50Ms).padStart(9)} ${formatMs(g.p95Ms).padStart(9)} ${formatMs(g.maxMs).padStart(9)}  ${c.cyan(oneLine(g.fingerprint, 90))}${victim}`,
    );
  }

  const ss = report.sessions;
  heading(
    'SESSIONS',
    `${formatCount(ss.connections)} connections received, ${formatCount(ss.authorized)} authorized, ${formatCount(ss.disconnections)} disconnections${ss.lengths.count ? `, session p50 ${formatMs(ss.lengths.p50Ms)}` : ''}`,
  );
  const cp = report.checkpoints;
  heading(
    'CHECKPOINTS',
    `${formatCount(cp.completed)} completed${cp.durations.count ? `, p95 ${formatMs(cp.durations.p95Ms)}, max ${formatMs(cp.durations.maxMs)}, ${formatCount(cp.buffers)} buffers written` : ''}`,
  );
  const tf = report.tempFiles;
  heading(
    'TEMP FILES',
    tf.count === 0
      ? 'none logged'
      : `${formatCount(tf.count)}, ${formatBytes(tf.bytes)} in all, largest ${formatBytes(tf.maxBytes)}`,
  );
  const av = report.autovacuum;
  heading(
    'AUTOVACUUM',
    `${formatCount(av.vacuums)} vacuums, ${formatCount(av.analyzes)} analyzes logged${av.top[0] ? `; busiest ${av.top[0].relation}` : ''}`,
  );

  if (report.timeline.length > 1) {
    const row = (pick: (m: AnalysisReport['timeline'][number]) => number) =>
      spanCells(report.timeline.map((m) => [m.minute, pick(m)] as const));
    const { minutes } = row((m) => m.entries);
    heading(
      'TIMELINE',
      `${cellLabel(minutes)} (one cell ${minutes === 1 ? 'per minute' : `= ${minutes} minutes`}; blank: no log entry at all), ${formatTime(report.timeline[0]?.minute ?? null)} → ${formatTime(report.timeline.at(-1)?.minute ?? null)}`,
    );
    out.push(`  entries    ${sparkline(row((m) => m.entries).cells)}`);
    out.push(`  lock waits ${sparkline(row((m) => m.lockWaits).cells)}`);
    out.push(`  deadlocks  ${sparkline(row((m) => m.deadlocks).cells)}`);
    out.push(`  errors     ${sparkline(row((m) => m.errors).cells)}`);
  }

  heading('INPUT', '');
  for (const i of report.inputs) {
    const skipped = Object.entries(i.skipped).filter(([, n]) => n > 0);
    out.push(
      `  ${i.name}: ${i.format}, ${formatBytes(i.bytes)}, ${plural(i.entries, 'entry', 'entries')}${skipped.length ? `; skipped ${skipped.map(([why, n]) => `${formatCount(n)} ${why}`).join(', ')}` : ''}`,
    );
    for (const w of i.warnings) out.push(`    ${c.yellow(`warning: ${w}`)}`);
  }
  const overflow = Object.entries(report.overflow);
  if (overflow.length > 0)
    out.push(
      `  memory caps reached (grouped under "(other)"): ${overflow.map(([k, n]) => `${k} ${formatCount(n)}`).join(', ')}`,
    );
  return `${out.join('\n')}\n`;
}
