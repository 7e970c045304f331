import type { AnalysisReport } from './analysis-report.js';
import { formatMs, formatTime, oneLine, percent, plural } from './report-format.js';

/**
 * The one to three findings that explain the window, causes before symptoms: deadlocks, then how
 * much slow-query time was lock waiting (the seed's misleading path: slow queries that were only
 * victims), with the blocker that held others up longest, then timeouts and serialization
 * failures, then errors; slow queries themselves only when nothing else stands out.
 */
export function buildHeadline(report: Omit<AnalysisReport, 'headline'>): string[] {
  const lines: string[] = [];
  const { deadlocks, blocking, slowQueries, timeouts, errors } = report;
  if (deadlocks.total > 0) {
    const groups = deadlocks.groups;
    const first = groups.reduce<string | null>(
      (at, g) => (at === null || (g.first !== null && g.first < at) ? g.first : at),
      null,
    );
    const last = groups.reduce<string | null>(
      (at, g) => (at === null || (g.last !== null && g.last > at) ? g.last : at),
      null,
    );
    const main = groups[0];
    const between = main
      ? `; most often (${main.count}) between ${main.signature.map((q) => `\`${oneLine(q, 60)}\``).join(' and ')}`
      : '';
    lines.push(
      `${plural(deadlocks.total, 'deadlock')} between ${formatTime(first)} and ${formatTime(last)}${between}`,
    );
  }
  // The root cause of most lock trouble is a session, not a statement: name it up front.
  const blocker = blocking.blockers[0];
  if (blocking.waits > 0 && blocker) {
    const who =
      blocker.pid === null
        ? 'other sessions'
        : `pid ${blocker.pid}${blocker.application ? ` (${blocker.application})` : ''}`;
    const what = blocker.lastStatement ? `, last logged \`${oneLine(blocker.lastStatement, 60)}\`` : '';
    lines.push(
      `top blocker: ${who} held up ${plural(blocker.waits, 'lock wait')} for ${formatMs(blocker.waitMs)} (of ${plural(blocking.waits, 'wait')}, ${formatMs(blocking.durations.totalMs)} in all)${what}`,
    );
  }
  if (slowQueries.lockWaitMs > 0 && slowQueries.lockWaitShare >= 0.05) {
    lines.push(
      `${percent(slowQueries.lockWaitShare)} of slow-query time was spent waiting on locks (${plural(slowQueries.victims, 'slow statement')} ${slowQueries.victims === 1 ? 'was a victim' : 'were victims'} of a lock wait, not heavy by themselves)`,
    );
  }
  if (lines.length < 3) {
    const parts = [
      timeouts.lockTimeouts > 0 ? plural(timeouts.lockTimeouts, 'lock timeout') : '',
      timeouts.statementTimeouts > 0 ? plural(timeouts.statementTimeouts, 'statement timeout') : '',
      timeouts.serializationFailures > 0
        ? plural(timeouts.serializationFailures, 'serialization failure')
        : '',
    ].filter((p) => p !== '');
    if (parts.length > 0) lines.push(parts.join(', '));
  }
  if (lines.length < 3 && errors.total > 0) {
    const top = errors.groups[0];
    lines.push(
      `${plural(errors.total, 'error')}${top ? `; most frequent: ${top.sqlstate} "${oneLine(top.message, 80)}" (${top.count})` : ''}`,
    );
  }
  if (lines.length === 0 && slowQueries.all.count > 0) {
    const top = slowQueries.groups[0];
    lines.push(
      `No deadlocks, lock waits or errors; ${plural(slowQueries.all.count, 'logged statement')} took ${formatMs(slowQueries.all.totalMs)}${top ? `, most in \`${oneLine(top.fingerprint, 60)}\` (${formatMs(top.totalMs)})` : ''}`,
    );
  }
  if (lines.length === 0)
    lines.push(
      `Nothing to report: ${plural(report.entries, 'log entry', 'log entries')}, no deadlocks, lock waits, errors or logged durations`,
    );
  return lines.slice(0, 3);
}
