import type { Alert } from './alert.js';
import { formatDuration } from './duration-format.js';
import { ERROR_RATE_RULE } from './error-rate-rule.js';
import type {
  BlockingEpisodeFinding,
  DeadlockFinding,
  Finding,
  IdleInTransactionFinding,
  RootBlocker,
  Victim,
} from './finding.js';
import type { DeadlockProcess } from './log-event.js';
import type { IncidentAppSide } from './incident-app-side.js';
import { appSideClauses } from './incident-app-side.js';
import type { IncidentLoad } from './incident-load.js';
import { describeIncidentLoad } from './incident-load.js';
import { isMetricRuleName } from './metric-rules.js';
import { shortenStatement } from './statement-shortener.js';

export interface SummaryEvidence {
  readonly findings: readonly Finding[];
  readonly alerts: readonly Alert[];
  /** The web app's side (impact, attribution, onset deploy), when its service reports signals. */
  readonly app?: IncidentAppSide;
  /** Working or waiting: the busiest interval of its targets in its span (incident-load.ts), when metrics were kept. */
  readonly load?: IncidentLoad | null;
}

/**
 * The incident's one-sentence account, built only from its evidence so that it is deterministic
 * and grows as evidence arrives, e.g. "212 deadlocks between `UPDATE inventory …` and
 * `UPDATE products …` on shop-db; blocking root pid 4242 idle in transaction for 94 s; victims, not
 * causes: `SELECT … FROM orders …` (waited 12 s)". One clause group per target (at most three, those
 * with the most evidence first); the app's error rates (its `error_rate` alerts); alerts from other
 * stacks; then the app's side — the largest cause of the failures, the share of users affected, the
 * deploy it began after. A deadlocked statement whose sqlcommenter tags name its route or job and call
 * site is named by them: "between POST /checkout (checkout.ts:88: `UPDATE inventory …`) and job
 * restock (restock.ts:20: `UPDATE products …`)".
 */
export const summarizeIncident = (evidence: SummaryEvidence): string => {
  const byTarget = new Map<string, Finding[]>();
  for (const f of dedupe(evidence.findings)) byTarget.set(f.target, [...(byTarget.get(f.target) ?? []), f]);
  const clauses: string[] = [];
  // The targets with the most evidence first (then by name); a service-wide incident names a few.
  const weight = (findings: readonly Finding[]): number =>
    findings.reduce((sum, f) => sum + (f.kind === 'deadlock' ? Math.max(1, f.count) : 1), 0);
  const targets = [...byTarget.entries()].sort((a, b) => weight(b[1]) - weight(a[1]) || cmp(a[0], b[0]));
  for (const [target, findings] of targets.slice(0, MAX_TARGETS))
    clauses.push(...targetClauses(target, findings));
  if (targets.length > MAX_TARGETS)
    clauses.push(`also ${plural(targets.length - MAX_TARGETS, 'more target')}`);
  // Busy working or waiting, right after what was found: it says whether the slow queries are victims.
  if (evidence.load !== undefined && evidence.load !== null)
    clauses.push(describeIncidentLoad(evidence.load));
  clauses.push(...metricRuleClauses(evidence.alerts));
  clauses.push(...errorRateClauses(evidence.alerts));
  const external = [...evidence.alerts]
    .filter((a) => a.source !== 'rule')
    .sort((a, b) => a.startedAt - b.startedAt || cmp(a.id, b.id));
  const shown = external.slice(0, 2).map((a) => a.summary);
  if (external.length > 2) shown.push(plural(external.length - 2, 'more alert'));
  clauses.push(...shown);
  // The app's side closes the sentence: what failed, whom it hurt, since which deploy.
  if (evidence.app !== undefined) clauses.push(...appSideClauses(evidence.app));
  if (clauses.length === 0) {
    const first = [...evidence.alerts].sort((a, b) => a.startedAt - b.startedAt || cmp(a.id, b.id))[0];
    return first?.summary ?? '';
  }
  return clauses.join('; ');
};

const MAX_TARGETS = 3;

const dedupe = (findings: readonly Finding[]): Finding[] => {
  const byId = new Map<string, Finding>();
  for (const f of findings) byId.set(f.id, f);
  return [...byId.values()];
};

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const quoted = (query: string): string => `\`${shortenStatement(query)}\``;

const listed = (items: readonly string[]): string =>
  items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;

/** The clauses about one target, its name said once. */
const targetClauses = (target: string, findings: readonly Finding[]): string[] => {
  const clauses: string[] = [];
  let where = ` on ${target}`;
  const place = (): string => {
    const w = where;
    where = '';
    return w;
  };
  const deadlocks = findings.filter((f): f is DeadlockFinding => f.kind === 'deadlock');
  const deadlockClause = describeDeadlocks(deadlocks);
  if (deadlockClause !== null) clauses.push(`${deadlockClause}${place()}`);

  const idle = findings.filter((f): f is IdleInTransactionFinding => f.kind === 'idle_in_transaction');
  const episodes = findings.filter((f): f is BlockingEpisodeFinding => f.kind === 'blocking_episode');
  const blocking = describeBlocking(episodes, idle);
  if (blocking !== null)
    clauses.push(`${blocking.root}${place()}`, ...(blocking.victims === null ? [] : [blocking.victims]));
  else {
    const longestIdle = [...idle].sort((a, b) => b.idleMs - a.idleMs || a.pid - b.pid)[0];
    if (longestIdle !== undefined)
      clauses.push(
        `pid ${longestIdle.pid} idle in transaction for ${formatDuration(longestIdle.idleMs)}${place()}`,
      );
  }

  const storm = findings
    .filter((f) => f.kind === 'lock_wait_storm')
    .sort((a, b) => b.waiters - a.waiters || cmp(a.relation, b.relation))[0];
  if (storm !== undefined)
    clauses.push(`lock-wait storm on ${storm.relation} (${storm.waiters} waiters)${place()}`);

  const long = findings
    .filter((f) => f.kind === 'long_transaction')
    .sort((a, b) => b.ageMs - a.ageMs || a.pid - b.pid)[0];
  if (long !== undefined) {
    const query = long.query === null || long.query === '' ? '' : ` (${quoted(long.query)})`;
    clauses.push(`transaction of pid ${long.pid} open for ${formatDuration(long.ageMs)}${query}${place()}`);
  }

  const outages = findings
    .filter((f) => f.kind === 'target_unreachable')
    .sort((a, b) => a.at - b.at || cmp(a.id, b.id));
  const recoveries = findings
    .filter((f) => f.kind === 'target_recovered')
    .sort((a, b) => a.at - b.at || cmp(a.id, b.id));
  const lastOutage = outages[outages.length - 1];
  const lastRecovery = recoveries[recoveries.length - 1];
  if (lastOutage !== undefined) {
    const back = lastRecovery !== undefined && lastRecovery.at >= lastOutage.at;
    clauses.push(
      back
        ? `${target} was unreachable for ${formatDuration(lastRecovery.downMs)} (${lastOutage.reason})`
        : `${target} unreachable (${lastOutage.reason})`,
    );
    where = '';
  }
  return clauses;
};

/**
 * "212 deadlocks between `A …` and `B …`": the pair of statements seen most often. A statement is
 * named by its process's tags when any deadlock of the pair carried them (the route or job and the
 * call site of the app that ran it); the agent fills them from sqlcommenter comments.
 */
const describeDeadlocks = (deadlocks: readonly DeadlockFinding[]): string | null => {
  const total = deadlocks.reduce((sum, d) => sum + Math.max(0, d.count), 0);
  if (total === 0) return null;
  const combos = new Map<string, { statements: string[]; seen: number }>();
  /** The tagged names seen for a statement, with how often. */
  const names = new Map<string, Map<string, number>>();
  for (const d of deadlocks) {
    const statements = [
      ...new Set(
        d.processes
          .map((p) => p.query)
          .filter((q): q is string => q !== null && q !== '')
          .map(quoted),
      ),
    ].sort();
    if (statements.length === 0) continue;
    const key = statements.join('\u0000');
    const combo = combos.get(key) ?? { statements, seen: 0 };
    combo.seen += 1;
    combos.set(key, combo);
    for (const p of d.processes) {
      const name = taggedName(p);
      if (name === null || p.query === null || p.query === '') continue;
      const q = quoted(p.query);
      const seen = names.get(q) ?? new Map<string, number>();
      seen.set(name, (seen.get(name) ?? 0) + 1);
      names.set(q, seen);
    }
  }
  const top = [...combos.entries()].sort((a, b) => b[1].seen - a[1].seen || cmp(a[0], b[0]))[0]?.[1];
  const count = plural(total, 'deadlock');
  if (top === undefined) return count;
  const named = top.statements.map((q) => {
    const best = [...(names.get(q) ?? new Map<string, number>()).entries()].sort(
      (a, b) => b[1] - a[1] || cmp(a[0], b[0]),
    )[0];
    return best === undefined ? q : best[0].replace('\u0000', q);
  });
  if (named.length === 1) return `${count} on ${named[0] ?? ''}`;
  if (named.length === 2) return `${count} between ${listed(named)}`;
  return `${count} among ${listed(named)}`;
};

/**
 * How a tagged process is named, with `\u0000` where its statement goes: "POST /checkout
 * (checkout.ts:88: \u0000)", "job restock (\u0000)"; null without a route, job or call site.
 */
const taggedName = (p: DeadlockProcess): string | null => {
  const tags = p.tags;
  if (tags === undefined) return null;
  const who = tags.route ?? (tags.job === undefined ? null : `job ${tags.job}`);
  const site = tags.callsite === undefined ? '' : `${tags.callsite}: `;
  if (who === null) return site === '' ? null : `${site}\u0000`;
  return `${who} (${site}\u0000)`;
};

/**
 * The app's error rates: the latest summary of each `error_rate` alert (a firing one before a
 * resolved one), at most two, then how many more.
 */
/** Firing before resolved, then the later update (then the larger id: deterministic). */
const newer = (a: Alert, b: Alert): boolean => {
  if ((a.status === 'firing') !== (b.status === 'firing')) return a.status === 'firing';
  return a.updatedAt !== b.updatedAt ? a.updatedAt > b.updatedAt : a.id > b.id;
};

/**
 * The database metric rules' alerts (metric-rules.ts: connections, rollbacks, active sessions, host
 * CPU, statement latency): the latest summary of each, at most three, then how many more.
 */
const metricRuleClauses = (alerts: readonly Alert[]): string[] => {
  const latest = new Map<string, Alert>();
  for (const a of alerts) {
    if (a.source !== 'rule' || a.rule === null || !isMetricRuleName(a.rule)) continue;
    const seen = latest.get(a.fingerprint);
    if (seen === undefined || newer(a, seen)) latest.set(a.fingerprint, a);
  }
  const ranked = [...latest.values()].sort(
    (a, b) => a.startedAt - b.startedAt || cmp(a.fingerprint, b.fingerprint),
  );
  const shown = ranked.slice(0, 3).map((a) => a.summary);
  if (ranked.length > 3) shown.push(plural(ranked.length - 3, 'more metric alert'));
  return shown;
};

const errorRateClauses = (alerts: readonly Alert[]): string[] => {
  const latest = new Map<string, Alert>();
  for (const a of alerts) {
    if (a.rule !== ERROR_RATE_RULE) continue;
    const seen = latest.get(a.fingerprint);
    if (seen === undefined || newer(a, seen)) latest.set(a.fingerprint, a);
  }
  const ranked = [...latest.values()].sort(
    (a, b) => a.startedAt - b.startedAt || cmp(a.fingerprint, b.fingerprint),
  );
  const shown = ranked.slice(0, 2).map((a) => a.summary);
  if (ranked.length > 2) shown.push(plural(ranked.length - 2, 'more failing route'));
  return shown;
};

const mainRoot = (episode: BlockingEpisodeFinding): RootBlocker | undefined =>
  [...episode.roots].sort((a, b) => b.blockedCount - a.blockedCount || a.pid - b.pid)[0];

/**
 * The root of the longest episode — how long it sat idle in transaction when it did, else the
 * statement it ran — and the statements slowed only by waiting behind it, named as victims so that
 * no one optimizes them (the seed's misleading path).
 */
const describeBlocking = (
  episodes: readonly BlockingEpisodeFinding[],
  idle: readonly IdleInTransactionFinding[],
): { root: string; victims: string | null } | null => {
  const episode = [...episodes].sort((a, b) => b.longestWaitMs - a.longestWaitMs || cmp(a.id, b.id))[0];
  if (episode === undefined) return null;
  const root = mainRoot(episode);
  let text: string;
  if (root === undefined) text = `blocking for ${formatDuration(episode.longestWaitMs)}`;
  else {
    const idleReport = Math.max(0, ...idle.filter((f) => f.pid === root.pid).map((f) => f.idleMs));
    const idleMs = Math.max(root.state === 'idle in transaction' ? (root.stateAgeMs ?? 0) : 0, idleReport);
    if (idleMs > 0) text = `blocking root pid ${root.pid} idle in transaction for ${formatDuration(idleMs)}`;
    else {
      const query = root.query === null || root.query === '' ? '' : ` (${quoted(root.query)})`;
      text = `blocking root pid ${root.pid}${query} held up ${plural(root.blockedCount, 'session')} for ${formatDuration(episode.longestWaitMs)}`;
    }
  }
  return { root: text, victims: describeVictims(episodes) };
};

const describeVictims = (episodes: readonly BlockingEpisodeFinding[]): string | null => {
  const longest = new Map<string, number>();
  const victims: Victim[] = episodes.flatMap((e) => e.victims);
  for (const v of victims) {
    if (v.query === null || v.query === '') continue;
    const q = quoted(v.query);
    longest.set(q, Math.max(longest.get(q) ?? 0, v.waitedMs));
  }
  const named = [...longest.entries()].sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]));
  if (named.length === 0) return null;
  const shown = named.slice(0, 2).map(([q, ms]) => `${q} (waited ${formatDuration(ms)})`);
  if (named.length > 2) shown.push(`${named.length - 2} more`);
  return `victims, not causes: ${listed(shown)}`;
};
