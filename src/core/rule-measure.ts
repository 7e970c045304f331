import type { AlertRule } from './alert-rule.js';
import { formatDuration } from './duration-format.js';
import type {
  BlockingEpisodeFinding,
  DeadlockFinding,
  Finding,
  FindingKind,
  IdleInTransactionFinding,
  LockWaitStormFinding,
  LongTransactionFinding,
  RootBlocker,
  TargetRecoveredFinding,
  TargetUnreachableFinding,
} from './finding.js';
import { shortenStatement } from './statement-shortener.js';

/** What a rule sees of one target at one moment. */
export interface RuleMeasurement {
  readonly value: number;
  /** Ids of the findings behind the value, oldest first. */
  readonly evidence: readonly string[];
  /** One line for the alert, e.g. "3 deadlocks in 5 min on shop-db". */
  readonly summary: string;
  /** The latest time among the evidence (0 without any): lets a cycle tell new evidence from old. */
  readonly latestEvidenceAt: number;
}

/** The finding kinds each rule reads: a target with none of them measures 0 without looking. */
export const RULE_FINDING_KINDS: Readonly<Record<AlertRule['name'], readonly FindingKind[]>> = {
  deadlocks: ['deadlock'],
  blocking: ['blocking_episode'],
  idle_in_transaction_blocker: ['blocking_episode', 'idle_in_transaction'],
  lock_wait_storm: ['lock_wait_storm'],
  target_unreachable: ['target_unreachable', 'target_recovered'],
  long_transaction: ['long_transaction'],
};

export interface MeasureContext {
  readonly target: string;
  readonly now: number;
}

/**
 * Measures one rule over one target's findings (those of other targets are ignored). Pure and
 * deterministic: the same findings at the same `now` give the same measurement, which is what makes
 * the rule cycle idempotent.
 */
export const measureRule = (
  rule: AlertRule,
  findings: readonly Finding[],
  ctx: MeasureContext,
): RuleMeasurement => {
  const own = findings.filter((f) => f.target === ctx.target);
  const since = ctx.now - rule.windowMs;
  switch (rule.name) {
    case 'deadlocks':
      return measureDeadlocks(
        rule,
        own.filter((f): f is DeadlockFinding => f.kind === 'deadlock' && f.at >= since),
        ctx,
      );
    case 'blocking':
      return measureBlocking(rule, activeEpisodes(own, since), ctx);
    case 'idle_in_transaction_blocker':
      return measureIdleBlocker(
        activeEpisodes(own, since),
        own.filter((f): f is IdleInTransactionFinding => f.kind === 'idle_in_transaction' && f.at >= since),
        ctx,
      );
    case 'lock_wait_storm':
      return measureStorms(
        own.filter((f): f is LockWaitStormFinding => f.kind === 'lock_wait_storm' && f.at >= since),
        ctx,
      );
    case 'target_unreachable':
      return measureUnreachable(
        own.filter(
          (f): f is TargetUnreachableFinding | TargetRecoveredFinding =>
            (f.kind === 'target_unreachable' || f.kind === 'target_recovered') && f.at >= since,
        ),
        ctx,
      );
    case 'long_transaction':
      return measureLongTransactions(
        own.filter((f): f is LongTransactionFinding => f.kind === 'long_transaction' && f.at >= since),
        ctx,
      );
  }
};

const quiet = (summary: string): RuleMeasurement => ({
  value: 0,
  evidence: [],
  summary,
  latestEvidenceAt: 0,
});

const uniqueById = <F extends Finding>(findings: readonly F[]): F[] => {
  const seen = new Map<string, F>();
  for (const f of findings) seen.set(f.id, f); // the last report of an id wins, as the store upserts
  return [...seen.values()];
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Deadlocks in the window, summed over findings (a `counter` finding stands for `count` of them).
 * The detector treats a counter drop (stats reset) as a new baseline; a count below zero would still
 * add nothing here.
 */
const measureDeadlocks = (
  rule: AlertRule,
  deadlocks: readonly DeadlockFinding[],
  ctx: MeasureContext,
): RuleMeasurement => {
  const counted = uniqueById(deadlocks).filter((d) => d.count > 0);
  const value = counted.reduce((sum, d) => sum + d.count, 0);
  const window = formatDuration(rule.windowMs);
  if (value === 0) return quiet(`no deadlocks in ${window} on ${ctx.target}`);
  counted.sort((a, b) => a.at - b.at || compare(a.id, b.id));
  return {
    value,
    evidence: counted.map((d) => d.id),
    summary: `${plural(value, 'deadlock')} in ${window} on ${ctx.target}`,
    latestEvidenceAt: Math.max(...counted.map((d) => d.at)),
  };
};

interface ActiveEpisode {
  readonly episode: BlockingEpisodeFinding;
  readonly ongoing: boolean;
  /** Until now when ongoing, else until it ended. */
  readonly durationMs: number;
}

/** Episodes still open, and those that ended inside the window. */
const activeEpisodes = (findings: readonly Finding[], since: number): ActiveEpisode[] => {
  const episodes = uniqueById(
    findings.filter((f): f is BlockingEpisodeFinding => f.kind === 'blocking_episode'),
  );
  const active: ActiveEpisode[] = [];
  for (const episode of episodes) {
    const endedAt = episode.phase === 'open' ? null : episode.endedAt;
    if (endedAt !== null && endedAt < since) continue;
    active.push({ episode, ongoing: endedAt === null, durationMs: 0 });
  }
  return active.sort(
    (a, b) => a.episode.startedAt - b.episode.startedAt || compare(a.episode.id, b.episode.id),
  );
};

const withDurations = (active: readonly ActiveEpisode[], now: number): ActiveEpisode[] =>
  active.map((a) => ({
    ...a,
    durationMs: Math.max(0, (a.ongoing ? now : (a.episode.endedAt ?? now)) - a.episode.startedAt),
  }));

const mainRoot = (episode: BlockingEpisodeFinding): RootBlocker | undefined =>
  [...episode.roots].sort((a, b) => b.blockedCount - a.blockedCount || a.pid - b.pid)[0];

const describeRoot = (root: RootBlocker): string => {
  const state = root.state === null ? '' : ` ${root.state}`;
  const query = root.query === null || root.query === '' ? '' : ` (last \`${shortenStatement(root.query)}\`)`;
  return `root pid ${root.pid}${state}${query}`;
};

/** The longest blocking episode ongoing or ended in the window, in whole seconds. */
const measureBlocking = (
  rule: AlertRule,
  episodes: readonly ActiveEpisode[],
  ctx: MeasureContext,
): RuleMeasurement => {
  const timed = withDurations(episodes, ctx.now);
  const value = Math.floor(Math.max(0, ...timed.map((t) => t.durationMs)) / 1000);
  if (value === 0 && timed.length === 0) return quiet(`no blocking on ${ctx.target}`);
  const counted = timed.filter((t) => t.durationMs / 1000 >= rule.resolveThreshold);
  const longest = [...timed].sort(
    (a, b) => b.durationMs - a.durationMs || compare(a.episode.id, b.episode.id),
  )[0];
  let summary = `no blocking on ${ctx.target}`;
  if (longest !== undefined) {
    const root = mainRoot(longest.episode);
    summary =
      `blocking for ${formatDuration(longest.durationMs)} on ${ctx.target}${longest.ongoing ? ' (ongoing)' : ''}` +
      (root === undefined ? '' : `: ${describeRoot(root)}, ${root.blockedCount} waiting`);
  }
  return {
    value,
    evidence: counted.map((t) => t.episode.id),
    summary,
    latestEvidenceAt: Math.max(0, ...counted.map((t) => t.episode.endedAt ?? t.episode.startedAt)),
  };
};

/**
 * How long a root blocker has been idle in transaction. Approximation: an episode is reported only
 * when it opens and when it closes, so the root's idle time is its state age at that report, or,
 * better, an `idle_in_transaction` finding of the same pid (reported once its idle time passes the
 * detector's 30 s) extrapolated to now — or to the episode's end — assuming the session stays idle
 * while it still heads the episode. A root that became active again mid-episode is counted until
 * the episode closes.
 */
const measureIdleBlocker = (
  episodes: readonly ActiveEpisode[],
  idle: readonly IdleInTransactionFinding[],
  ctx: MeasureContext,
): RuleMeasurement => {
  let best: {
    ms: number;
    pid: number;
    blocked: number;
    episode: BlockingEpisodeFinding;
    idle: IdleInTransactionFinding | null;
  } | null = null;
  for (const { episode, ongoing } of episodes) {
    const end = ongoing ? ctx.now : (episode.endedAt ?? ctx.now);
    for (const root of episode.roots) {
      const idleAtReport = root.state === 'idle in transaction';
      // A report from before the episode counts only if the root was still idle when it opened.
      const report =
        idle
          .filter((f) => f.pid === root.pid && f.at <= end && (idleAtReport || f.at >= episode.startedAt))
          .sort((a, b) => b.at - a.at || compare(a.id, b.id))[0] ?? null;
      const fromState = idleAtReport ? (root.stateAgeMs ?? 0) : 0;
      const fromReport = report === null ? 0 : report.idleMs + (end - report.at);
      const ms = Math.max(fromState, fromReport);
      if (ms <= 0) continue;
      if (best === null || ms > best.ms || (ms === best.ms && root.pid < best.pid)) {
        best = { ms, pid: root.pid, blocked: root.blockedCount, episode, idle: report };
      }
    }
  }
  if (best === null) return quiet(`no root blocker idle in transaction on ${ctx.target}`);
  const evidence = [best.episode.id, ...(best.idle === null ? [] : [best.idle.id])];
  return {
    value: Math.floor(best.ms / 1000),
    evidence,
    summary: `root blocker pid ${best.pid} idle in transaction for ${formatDuration(best.ms)} on ${ctx.target}, ${best.blocked} waiting`,
    latestEvidenceAt: Math.max(best.episode.endedAt ?? best.episode.startedAt, best.idle?.at ?? 0),
  };
};

const measureStorms = (storms: readonly LockWaitStormFinding[], ctx: MeasureContext): RuleMeasurement => {
  const all = uniqueById(storms).sort((a, b) => a.at - b.at || compare(a.id, b.id));
  const worst = [...all].sort((a, b) => b.waiters - a.waiters || compare(a.relation, b.relation))[0];
  if (worst === undefined) return quiet(`no lock-wait storm on ${ctx.target}`);
  return {
    value: worst.waiters,
    evidence: all.map((s) => s.id),
    summary: `${worst.waiters} sessions waiting on locks of ${worst.relation} on ${ctx.target}`,
    latestEvidenceAt: Math.max(...all.map((s) => s.at)),
  };
};

/** Down since the latest `target_unreachable` not followed by a `target_recovered`. */
const measureUnreachable = (
  events: readonly (TargetUnreachableFinding | TargetRecoveredFinding)[],
  ctx: MeasureContext,
): RuleMeasurement => {
  // The latest event decides; at the same instant, recovery wins (it is reported after the outage).
  const latest = uniqueById(events).sort(
    (a, b) => b.at - a.at || (a.kind === 'target_recovered' ? -1 : 1),
  )[0];
  if (latest === undefined || latest.kind === 'target_recovered') return quiet(`${ctx.target} reachable`);
  const downMs = Math.max(0, ctx.now - latest.at);
  return {
    value: Math.floor(downMs / 1000),
    evidence: [latest.id],
    summary: `${ctx.target} unreachable for ${formatDuration(downMs)}: ${latest.reason}`,
    latestEvidenceAt: latest.at,
  };
};

/**
 * The oldest transaction reported long, its age extrapolated from the report (the detector reports
 * each transaction once): it is assumed still open for the window after its report.
 */
const measureLongTransactions = (
  reports: readonly LongTransactionFinding[],
  ctx: MeasureContext,
): RuleMeasurement => {
  const all = uniqueById(reports).sort((a, b) => a.at - b.at || compare(a.id, b.id));
  const age = (f: LongTransactionFinding): number => f.ageMs + Math.max(0, ctx.now - f.at);
  const oldest = [...all].sort((a, b) => age(b) - age(a) || compare(a.id, b.id))[0];
  if (oldest === undefined) return quiet(`no long transaction on ${ctx.target}`);
  const query =
    oldest.query === null || oldest.query === '' ? '' : ` (\`${shortenStatement(oldest.query)}\`)`;
  return {
    value: Math.floor(age(oldest) / 1000),
    evidence: all.map((f) => f.id),
    summary: `transaction of pid ${oldest.pid} open for ${formatDuration(age(oldest))} on ${ctx.target}${query}`,
    latestEvidenceAt: Math.max(...all.map((f) => f.at)),
  };
};

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
