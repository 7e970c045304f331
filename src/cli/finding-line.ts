import type { SqlTags } from '../core/app-signal.js';
import type { Finding, RootBlocker } from '../core/finding.js';
import type { DeadlockProcess } from '../core/log-event.js';
import type { LockObject, RowLockObject } from '../core/sample.js';
import { terminalText } from './terminal-text.js';

const time = (at: number): string => new Date(at).toISOString().slice(11, 19);
const secs = (ms: number | null): string =>
  ms === null ? '?' : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
const short = (query: string | null, max = 80): string => {
  if (query === null || query === '') return '(no query)';
  const flat = terminalText(query).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/**
 * Where the app ran a statement, from the sqlcommenter tags it wrote on it: `POST /checkout at
 * demo/shop/checkout.ts:88`, `job restock at restock.ts:20`; '' without tags. The values come from
 * the monitored app: control characters are shown escaped.
 */
export function describeTags(tags: SqlTags | undefined): string {
  if (tags === undefined) return '';
  const what =
    tags.route ??
    (tags.job !== undefined
      ? `job ${tags.job}`
      : tags.service !== undefined
        ? `service ${tags.service}`
        : null);
  const where = tags.callsite === undefined ? null : `at ${tags.callsite}`;
  const text = [what, where].filter((x) => x !== null && x !== '').join(' ');
  return terminalText(text).replace(/\s+/g, ' ').trim();
}

/** A statement as a line shows it: where the app ran it (when tagged), then the query (cut at `max`). */
export function describeStatement(query: string | null, tags: SqlTags | undefined, max = 80): string {
  const from = describeTags(tags);
  return from === '' ? short(query, max) : `${from} · ${short(query, max)}`;
}

const row = (r: RowLockObject): string =>
  `row ${r.ctid ?? '(ctid unknown)'} of ${r.relation ?? `relation ${r.relationOid ?? '?'}`}`;

/**
 * A lock as what it is: `row (0,1) of public.accounts`, `transaction 746 of pid 12 (row (0,1) of
 * public.inventory)`, `AccessExclusiveLock on public.accounts`, `ExclusiveLock on advisory lock 42`.
 * `fallback` (the relation or PostgreSQL's own text) when the agent did not say what it is.
 */
export function describeLock(mode: string, object: LockObject | undefined, fallback: string): string {
  if (object === undefined) return `${mode} on ${fallback}`;
  switch (object.kind) {
    case 'relation':
      return `${mode} on ${object.relation ?? `relation ${object.relationOid ?? '?'}`}`;
    case 'row':
      return row(object);
    case 'transaction': {
      const holder = object.holderPid === null ? '' : ` of pid ${object.holderPid}`;
      const wanted = object.row === null ? '' : ` (${row(object.row)})`;
      return `${object.transactionId === null ? 'transaction' : `transaction ${object.transactionId}`}${holder}${wanted}`;
    }
    case 'virtual_transaction':
      return `virtual transaction ${object.virtualXid ?? '?'}${object.holderPid === null ? '' : ` of pid ${object.holderPid}`}`;
    case 'advisory':
      return `${mode} on advisory lock ${object.key}`;
    case 'other':
      return `${mode} on ${object.lockType}${object.relation === null ? '' : ` of ${object.relation}`}`;
  }
}

/** Who a deadlocked process was: `app shop-checkout, user app`. */
const who = (p: DeadlockProcess): string => {
  const parts = [p.application ? `app ${p.application}` : null, p.user ? `user ${p.user}` : null].filter(
    (x) => x !== null,
  );
  return parts.length === 0 ? '' : ` [${terminalText(parts.join(', '))}]`;
};

export function describeRoot(root: RootBlocker): string {
  const state = root.state ?? 'unknown state';
  const age = root.stateAgeMs === null ? '' : ` for ${secs(root.stateAgeMs)}`;
  const app = root.application ? ` · ${terminalText(root.application)}` : '';
  return `pid ${root.pid} (${state}${age}${app}) · ${describeStatement(root.query, root.tags)}`;
}

/** One human line per finding, for logs and non-terminal output. */
export function describeFinding(finding: Finding): string {
  const [head = '', ...sides] = findingParts(finding);
  return sides.length === 0 ? head : `${head} ${sides.join('  ⟷  ')}`;
}

/**
 * A finding as its head and, for a deadlock, one part per process: a narrow view wraps each part
 * on its own, so every side's pid shows.
 */
export function findingParts(finding: Finding): string[] {
  if (finding.kind === 'deadlock' && finding.processes.length > 0) {
    const sides = finding.processes.map(
      (p) =>
        `pid ${p.pid}${who(p)}${p.pid === finding.victimPid ? ' (cancelled)' : ''} waits for ${describeLock(p.waitsForMode, p.lockObject, p.relation ?? p.waitsForObject)}: ${describeStatement(p.query, p.tags, 60)}`,
    );
    return [
      `${time(finding.at)} DEADLOCK${finding.database === null ? '' : ` in ${finding.database}`}:`,
      ...sides,
    ];
  }
  return [oneLine(finding)];
}

function oneLine(finding: Finding): string {
  switch (finding.kind) {
    case 'deadlock': {
      if (finding.processes.length === 0) {
        return `${time(finding.at)} DEADLOCK ×${finding.count} in ${finding.database ?? 'a database'} (from pg_stat_database; no log to name the queries — pass --log)`;
      }
      return `${time(finding.at)} DEADLOCK in ${finding.database ?? 'a database'}`;
    }
    case 'blocking_episode': {
      // Counts before the root's query: a narrow view abbreviates the end of a line, never them.
      const roots = finding.roots.map(describeRoot).join('; ');
      if (finding.phase === 'open') {
        return `${time(finding.startedAt)} BLOCKING started: ${finding.maxWaiters} waiting, depth ${finding.maxDepth} · root ${roots}`;
      }
      return `${time(finding.endedAt ?? finding.startedAt)} BLOCKING ended after ${secs((finding.endedAt ?? finding.startedAt) - finding.startedAt)}: up to ${finding.maxWaiters} waiting, longest wait ${secs(finding.longestWaitMs)}, ${finding.victims.length} victim statement(s) · root ${roots}`;
    }
    case 'lock_wait_storm':
      return `${time(finding.at)} LOCK-WAIT STORM on ${finding.relation}: ${finding.waiters} sessions waiting`;
    case 'long_transaction':
      return `${time(finding.at)} LONG TRANSACTION pid ${finding.pid} open ${secs(finding.ageMs)} (${finding.state ?? '?'}) · ${describeStatement(finding.query, finding.tags)}`;
    case 'idle_in_transaction':
      return `${time(finding.at)} IDLE IN TRANSACTION pid ${finding.pid} for ${secs(finding.idleMs)}${finding.application ? ` · ${finding.application}` : ''} · last: ${describeStatement(finding.query, finding.tags)}`;
    case 'target_unreachable':
      return `${time(finding.at)} UNREACHABLE ${finding.target}: ${finding.reason} (retrying)`;
    case 'target_recovered':
      return `${time(finding.at)} RECOVERED ${finding.target} after ${secs(finding.downMs)}`;
  }
}
