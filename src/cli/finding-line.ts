import type { Finding, RootBlocker } from '../core/finding.js';

const time = (at: number): string => new Date(at).toISOString().slice(11, 19);
const secs = (ms: number | null): string => (ms === null ? '?' : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`);
const short = (query: string | null, max = 80): string => {
  if (query === null || query === '') return '(no query)';
  const flat = query.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

export function describeRoot(root: RootBlocker): string {
  const state = root.state ?? 'unknown state';
  const age = root.stateAgeMs === null ? '' : ` for ${secs(root.stateAgeMs)}`;
  const app = root.application ? ` · ${root.application}` : '';
  return `pid ${root.pid} (${state}${age}${app}) · ${short(root.query)}`;
}

/** One human line per finding, for logs and non-terminal output. */
export function describeFinding(finding: Finding): string {
  switch (finding.kind) {
    case 'deadlock': {
      if (finding.processes.length === 0) {
        return `${time(finding.at)} DEADLOCK ×${finding.count} in ${finding.database ?? 'a database'} (from pg_stat_database; no log to name the queries — pass --log)`;
      }
      const parts = finding.processes.map(
        (p) => `pid ${p.pid}${p.pid === finding.victimPid ? ' (cancelled)' : ''} ${p.waitsForMode} on ${p.relation ?? p.waitsForObject}: ${short(p.query, 60)}`,
      );
      return `${time(finding.at)} DEADLOCK (${finding.source}) ${parts.join('  ⟷  ')}`;
    }
    case 'blocking_episode': {
      const roots = finding.roots.map(describeRoot).join('; ');
      if (finding.phase === 'open') {
        return `${time(finding.startedAt)} BLOCKING started: root ${roots} · ${finding.maxWaiters} waiting, depth ${finding.maxDepth}`;
      }
      return `${time(finding.endedAt ?? finding.startedAt)} BLOCKING ended after ${secs((finding.endedAt ?? finding.startedAt) - finding.startedAt)}: root ${roots} · up to ${finding.maxWaiters} waiting, longest wait ${secs(finding.longestWaitMs)}, ${finding.victims.length} victim statement(s)`;
    }
    case 'lock_wait_storm':
      return `${time(finding.at)} LOCK-WAIT STORM on ${finding.relation}: ${finding.waiters} sessions waiting`;
    case 'long_transaction':
      return `${time(finding.at)} LONG TRANSACTION pid ${finding.pid} open ${secs(finding.ageMs)} (${finding.state ?? '?'}) · ${short(finding.query)}`;
    case 'idle_in_transaction':
      return `${time(finding.at)} IDLE IN TRANSACTION pid ${finding.pid} for ${secs(finding.idleMs)}${finding.application ? ` · ${finding.application}` : ''} · last: ${short(finding.query)}`;
    case 'target_unreachable':
      return `${time(finding.at)} UNREACHABLE ${finding.target}: ${finding.reason} (retrying)`;
    case 'target_recovered':
      return `${time(finding.at)} RECOVERED ${finding.target} after ${secs(finding.downMs)}`;
  }
}
