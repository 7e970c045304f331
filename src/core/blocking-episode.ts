import { ageAt } from './detector-context.js';
import type { DetectorContext } from './detector-context.js';
import type { BlockingEpisodeFinding, RootBlocker, Victim, WaitEdge } from './finding.js';
import type { LockWait, Sample, SessionSnapshot } from './sample.js';
import type { WaitForGraph } from './wait-for-graph.js';

/**
 * Blocking episodes, one per target at a time: an episode opens when a lock wait that leads to a
 * root blocker is older than the threshold, and closes at the first sample where no such waiter
 * remains (or when the target becomes unreachable). Disjoint chains at the same time belong to the
 * same episode, as several roots: while a root commits, the next waiter often becomes a root
 * itself, and one episode per root set would split one incident into a stream of small ones.
 * Waiters that only reach a cycle belong to the deadlock finding, not to an episode.
 */
export interface BlockingEpisodeWatch {
  onSample(sample: Sample, graph: WaitForGraph): BlockingEpisodeFinding[];
  /** The target went away: close an open episode as of the last sample that saw it. */
  onUnreachable(): BlockingEpisodeFinding[];
}

interface OpenEpisode {
  readonly id: string;
  readonly startedAt: number;
  readonly roots: Map<number, RootBlocker>;
  readonly victims: Map<number, Victim>;
  maxDepth: number;
  maxWaiters: number;
  longestWaitMs: number;
  lastEdges: readonly WaitEdge[];
  largestEdges: readonly WaitEdge[];
  lastSeenAt: number;
}

type EpisodeState = { readonly kind: 'quiet' } | { readonly kind: 'open'; readonly episode: OpenEpisode };

/** Identity of one wait: the same pid waiting again on something else is a new wait. */
const waitKey = (wait: LockWait): string =>
  `${wait.pid}|${wait.lockType}|${wait.mode}|${wait.relationOid ?? wait.relation ?? ''}`;

const rootBlocker = (
  sample: Sample,
  session: SessionSnapshot | undefined,
  pid: number,
  blockedCount: number,
): RootBlocker => ({
  pid,
  state: session?.state ?? null,
  query: session?.query ?? null,
  user: session?.user ?? null,
  application: session?.application ?? null,
  client: session?.client ?? null,
  xactAgeMs: ageAt(sample, session?.xactStart ?? null),
  stateAgeMs: ageAt(sample, session?.stateChange ?? null),
  blockedCount,
  ...(session?.tags === undefined ? {} : { tags: session.tags }),
});

const report = (
  ctx: DetectorContext,
  episode: OpenEpisode,
  phase: BlockingEpisodeFinding['phase'],
  endedAt: number | null,
): BlockingEpisodeFinding => ({
  kind: 'blocking_episode',
  id: episode.id,
  target: ctx.target,
  phase,
  startedAt: episode.startedAt,
  endedAt,
  roots: [...episode.roots.values()],
  victims: [...episode.victims.values()],
  maxDepth: episode.maxDepth,
  maxWaiters: episode.maxWaiters,
  longestWaitMs: episode.longestWaitMs,
  edges: phase === 'open' ? episode.lastEdges : episode.largestEdges,
});

export const createBlockingEpisodeWatch = (ctx: DetectorContext): BlockingEpisodeWatch => {
  let state: EpisodeState = { kind: 'quiet' };
  /** When each current wait was first seen, for waits whose `waitstart` is unknown. */
  let firstSeen = new Map<string, number>();

  const track = (
    episode: OpenEpisode,
    sample: Sample,
    graph: WaitForGraph,
    waitedMs: ReadonlyMap<number, number>,
  ): void => {
    const sessions = new Map(sample.sessions.map((s) => [s.pid, s]));
    const waits = new Map(sample.lockWaits.map((w) => [w.pid, w]));
    const involved = new Set([...waitedMs.keys()]);
    const blockersOf = new Map<number, number[]>();
    for (const edge of graph.edges)
      blockersOf.set(edge.waiter, [...(blockersOf.get(edge.waiter) ?? []), edge.blocker]);
    for (const root of graph.roots) {
      if (root.waiterCount === 0) continue;
      const before = episode.roots.get(root.pid)?.blockedCount ?? 0;
      episode.roots.set(
        root.pid,
        rootBlocker(sample, sessions.get(root.pid), root.pid, Math.max(before, root.waiterCount)),
      );
    }
    for (const [pid, waited] of waitedMs) {
      const wait = waits.get(pid);
      if (wait === undefined) continue;
      const depth = graph.depthOf.get(pid) ?? 0;
      const previous = episode.victims.get(pid);
      const session = sessions.get(pid);
      // The query and its tags go together: both from this sample, or both as last seen.
      const statement = session?.query == null ? previous : session;
      const victim: Victim = {
        pid,
        query: statement?.query ?? null,
        waitedMs: Math.max(previous?.waitedMs ?? 0, waited),
        lockMode: wait.mode,
        relation: wait.relation,
        ...(wait.object === undefined ? {} : { lockObject: wait.object }),
        blockedBy: blockersOf.get(pid) ?? [],
        rootPids: graph.rootsOf.get(pid) ?? [],
        depth: Math.max(previous?.depth ?? 0, depth),
        ...(graph.queueOnly.has(pid) ? { queueOnly: true } : {}),
        ...(statement?.tags === undefined ? {} : { tags: statement.tags }),
      };
      episode.victims.set(pid, victim);
      episode.maxDepth = Math.max(episode.maxDepth, depth);
      episode.longestWaitMs = Math.max(episode.longestWaitMs, waited);
    }
    episode.maxWaiters = Math.max(episode.maxWaiters, involved.size);
    episode.lastEdges = graph.edges.filter((e) => involved.has(e.waiter));
    if (episode.lastEdges.length > episode.largestEdges.length) episode.largestEdges = episode.lastEdges;
    episode.lastSeenAt = sample.takenAt;
  };

  return {
    onSample(sample, graph) {
      // How long each waiter that leads to a root has waited.
      const nextSeen = new Map<string, number>();
      const waitedMs = new Map<number, number>();
      for (const wait of sample.lockWaits) {
        if ((graph.rootsOf.get(wait.pid)?.length ?? 0) === 0 || waitedMs.has(wait.pid)) continue;
        const key = waitKey(wait);
        const seen = firstSeen.get(key) ?? sample.takenAt;
        nextSeen.set(key, seen);
        waitedMs.set(wait.pid, ageAt(sample, wait.waitStart) ?? sample.takenAt - seen);
      }
      firstSeen = nextSeen;

      if (state.kind === 'open') {
        const episode = state.episode;
        if (waitedMs.size === 0) {
          state = { kind: 'quiet' };
          return [report(ctx, episode, 'closed', sample.takenAt)];
        }
        track(episode, sample, graph, waitedMs);
        return [];
      }
      const longest = Math.max(0, ...waitedMs.values());
      if (waitedMs.size === 0 || longest < ctx.thresholds.blockingMs) return [];
      const episode: OpenEpisode = {
        id: ctx.ids.next('blocking_episode'),
        // When the blocking began, not when it crossed the threshold: the timeline wants the start.
        startedAt: sample.takenAt - longest,
        roots: new Map(),
        victims: new Map(),
        maxDepth: 0,
        maxWaiters: 0,
        longestWaitMs: 0,
        lastEdges: [],
        largestEdges: [],
        lastSeenAt: sample.takenAt,
      };
      track(episode, sample, graph, waitedMs);
      state = { kind: 'open', episode };
      return [report(ctx, episode, 'open', null)];
    },
    onUnreachable() {
      firstSeen = new Map();
      if (state.kind === 'quiet') return [];
      const episode = state.episode;
      state = { kind: 'quiet' };
      return [report(ctx, episode, 'closed', episode.lastSeenAt)];
    },
  };
};
