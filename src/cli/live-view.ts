import pc from 'picocolors';
import type { WatchState } from '../app/watch-cycle.js';
import type { LockWait, Sample, SessionSnapshot } from '../core/sample.js';
import { describeFinding } from './finding-line.js';

const secs = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}

function flat(query: string | null): string {
  return query === null || query === '' ? '(no query)' : query.replace(/\s+/g, ' ').trim();
}

/** The live terminal view of one target, redrawn after every sample. Pure: state in, text out. */
export interface ViewExtras {
  /** Status lines (log rotated, not English…), newest last. */
  readonly notes?: readonly string[];
  /** Log entries seen since watch started, by signal kind (lock_timeout, statement…). */
  readonly logCounts?: ReadonlyMap<string, number>;
}

export function renderWatchView(state: WatchState, now: number, width: number, extras: ViewExtras = {}): string {
  const notes = extras.notes ?? [];
  const lines: string[] = [];
  const sample = state.lastSample;
  const clock = new Date(now).toISOString().slice(11, 19);
  const health = state.reachable ? pc.green('connected') : pc.red(`UNREACHABLE: ${state.problem ?? ''} (retrying)`);
  lines.push(pc.bold(`hindsight watch · ${state.target} · ${clock} · `) + health);
  if (sample) lines.push(...summary(sample, width));
  else lines.push(pc.dim('waiting for the first sample…'));
  const logged = [...(extras.logCounts ?? [])].filter(([kind]) => kind !== 'statement');
  if (logged.length > 0) {
    lines.push(clip(`server log since start: ${logged.map(([kind, n]) => `${kind.replaceAll('_', ' ')} ${n}`).join(' · ')}`, width));
  }
  lines.push('');
  lines.push(pc.bold('Blocking now'));
  const trees = sample ? blockingTrees(sample, now, width) : [];
  lines.push(...(trees.length > 0 ? trees : [pc.dim('  nobody is waiting on a lock')]));
  lines.push('');
  lines.push(pc.bold('Findings'));
  const recent = state.recentFindings.slice(-10).map((f) => `  ${clip(describeFinding(f), width - 2)}`);
  lines.push(...(recent.length > 0 ? recent : [pc.dim('  none yet')]));
  if (notes.length > 0) lines.push('', ...notes.map((n) => pc.yellow(clip(`! ${n}`, width))));
  lines.push('', pc.dim('Ctrl-C to stop · --json for machine-readable findings'));
  return `${lines.join('\n')}\n`;
}

function summary(sample: Sample, width: number): string[] {
  const clients = sample.sessions.filter((s) => s.backendType === 'client backend');
  const count = (state: string) => clients.filter((s) => s.state === state).length;
  const deadlocks = sample.counters.reduce((sum, c) => sum + c.deadlocks, 0);
  return [
    clip(
      `sessions ${clients.length} (active ${count('active')}, idle in transaction ${count('idle in transaction')}, waiting on a lock ${sample.lockWaits.length})` +
        ` · deadlocks since stats reset ${deadlocks} · sample ${sample.serverMs.toFixed(1)} ms`,
      width,
    ),
  ];
}

/** Roots first, each waiter under the session it waits on; roots are sessions that wait on nobody. */
function blockingTrees(sample: Sample, now: number, width: number): string[] {
  const waits = new Map<number, LockWait>(sample.lockWaits.map((w) => [w.pid, w]));
  const sessions = new Map<number, SessionSnapshot>(sample.sessions.map((s) => [s.pid, s]));
  const children = new Map<number, number[]>();
  for (const wait of sample.lockWaits) {
    for (const blocker of wait.blockedBy) children.set(blocker, [...(children.get(blocker) ?? []), wait.pid]);
  }
  const roots = [...children.keys()].filter((pid) => !waits.has(pid));
  const lines: string[] = [];
  const seen = new Set<number>();
  const visit = (pid: number, depth: number): void => {
    if (seen.has(pid)) return;
    seen.add(pid);
    const session = sessions.get(pid);
    const wait = waits.get(pid);
    const indent = '  '.repeat(depth + 1);
    if (wait) {
      const waited = wait.waitStart === null ? '' : ` ${secs(now - wait.waitStart)}`;
      const head = `${indent}└ pid ${pid} waits${waited} for ${wait.mode} on ${wait.relation ?? wait.lockType}: `;
      lines.push(clip(head + flat(session?.query ?? null), width));
    } else {
      const state = session?.state ?? 'unknown';
      const since = session?.stateChange == null ? '' : ` ${secs(now - session.stateChange)}`;
      const app = session?.application ? ` · ${session.application}` : '';
      const head = `${indent}${pc.red('ROOT')} pid ${pid} (${state}${since}${app}): `;
      lines.push(clip(head + flat(session?.query ?? null), width + 10));
    }
    for (const child of children.get(pid) ?? []) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  // Cycles have no root: show them too, they are deadlocks in the making.
  for (const wait of sample.lockWaits) {
    if (!seen.has(wait.pid)) {
      lines.push(pc.red(`  CYCLE (deadlock forming):`));
      visit(wait.pid, 0);
    }
  }
  return lines;
}
