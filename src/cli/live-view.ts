import { stripVTControlCharacters } from 'node:util';
import pc from 'picocolors';
import type { WatchState } from '../app/watch-cycle.js';
import type { Finding } from '../core/finding.js';
import type { HostFigures } from '../core/host-figures.js';
import type { LockWait, Sample, SessionSnapshot } from '../core/sample.js';
import { describeWorkWaitSplit, splitWorkAndWaits } from '../core/work-wait-split.js';
import { describeLock, describeTags, findingParts } from './finding-line.js';
import { terminalText } from './terminal-text.js';

const secs = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;

/** Columns a line takes on the terminal: colours take none. */
const visible = (text: string): number => stripVTControlCharacters(text).length;

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}

function flat(query: string | null): string {
  return query === null || query === '' ? '(no query)' : terminalText(query).replace(/\s+/g, ' ').trim();
}

/** A session's statement: where the app ran it (its sqlcommenter tags) first, the query last (only it is cut). */
function statementOf(session: SessionSnapshot | undefined): string {
  const from = describeTags(session?.tags);
  const query = flat(session?.query ?? null);
  return from === '' ? query : `${from} · ${query}`;
}

/**
 * Word-wraps `text` (uncoloured) to `width`, continuation lines under `hang`; past `maxLines` the
 * last line is cut with `…`. Callers put what must always show (pids, counts) first and the
 * query last, so only the query is ever abbreviated.
 */
export function wrap(text: string, width: number, hang: string, maxLines = 3): string[] {
  const lines: string[] = [];
  let line = '';
  const words = text.split(' ');
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] ?? '';
    const candidate = line === '' ? word : `${line} ${word}`;
    const room = width - (lines.length === 0 ? 0 : hang.length);
    if (candidate.length <= room || line === '' || line.trim() === '') {
      line = candidate;
      continue;
    }
    if (lines.length + 1 === maxLines) {
      line = `${line} ${words.slice(i).join(' ')}`;
      break;
    }
    lines.push(line);
    line = word;
  }
  lines.push(line);
  return lines.map((l, i) => {
    const room = width - (i === 0 ? 0 : hang.length);
    return `${i === 0 ? '' : hang}${clip(l, Math.max(1, room))}`;
  });
}

/** Segments joined by ` · `, starting a new line where the next would not fit: none is cut. */
function pack(segments: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const segment of segments) {
    const candidate = line === '' ? segment : `${line} · ${segment}`;
    if (line !== '' && visible(candidate) > width) {
      lines.push(line);
      line = `  ${segment}`;
    } else {
      line = candidate;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The live terminal view of one target, redrawn after every sample. Pure: state in, text out. */
export interface ViewExtras {
  /** Status lines (log rotated, not English…), newest last. */
  readonly notes?: readonly string[];
  /** Log entries seen since watch started, by signal kind (lock_timeout, statement…). */
  readonly logCounts?: ReadonlyMap<string, number>;
  /** The database's host, when it is this one (CPU per backend names who burns it). */
  readonly host?: HostFigures | null;
}

const BUSIEST_SHOWN = 3;
/** Backends using less than this share of a core are not worth a line. */
const BUSY_CORES = 0.05;

const gb = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GB`;

/** "host CPU 91% of 2 · load 3.5 · memory 2.0 of 8.0 GB free", then the busiest backends and their statements. */
function hostLines(host: HostFigures, width: number): string[] {
  const lines = pack(
    [
      `host CPU ${Math.round(host.cpuBusy * 100)}% of ${host.cpus}`,
      `load ${host.load[0].toFixed(1)}`,
      `memory ${gb(host.memory.availableBytes)} of ${gb(host.memory.totalBytes)} free`,
      ...(host.disk === null ? [] : [`disk ${gb(host.disk.freeBytes)} free`]),
    ],
    width,
  );
  for (const b of host.backends.slice(0, BUSIEST_SHOWN)) {
    if (b.cores < BUSY_CORES) break;
    const query = b.query === null ? '' : `: ${terminalText(b.query)}`;
    lines.push(clip(`  pid ${b.pid} ${b.cores.toFixed(2)} cores${query}`, width));
  }
  return lines;
}

const FINDINGS_SHOWN = 10;

/**
 * Each finding once, as its latest report, where it first appeared: a deadlock seen live and then
 * enriched by the server log, an episode opened and then closed, keep their id and their place.
 */
export function latestFindings(findings: readonly Finding[]): Finding[] {
  const latest = new Map<string, Finding>();
  for (const finding of findings) latest.set(finding.id, finding);
  return [...latest.values()];
}

export function renderWatchView(
  state: WatchState,
  now: number,
  width: number,
  extras: ViewExtras = {},
): string {
  const notes = extras.notes ?? [];
  const lines: string[] = [];
  const sample = state.lastSample;
  const clock = new Date(now).toISOString().slice(11, 19);
  const health = state.reachable
    ? pc.green('connected')
    : pc.red(`UNREACHABLE: ${state.problem ?? ''} (retrying)`);
  lines.push(...pack([pc.bold(`hindsight watch · ${state.target}`), pc.bold(clock), health], width));
  if (sample) {
    lines.push(...summary(sample, width));
    // Busy working or busy waiting: said only while active backends wait on locks.
    const split = splitWorkAndWaits(sample);
    if (extras.host) lines.push(...hostLines(extras.host, width));
    if (split.lockWaiting > 0)
      lines.push(...pack([pc.yellow(describeWorkWaitSplit(split, extras.host ?? undefined))], width));
  } else lines.push(pc.dim('waiting for the first sample…'));
  const logged = [...(extras.logCounts ?? [])].filter(([kind]) => kind !== 'statement');
  if (logged.length > 0) {
    lines.push(
      ...pack(
        [
          `server log since start: ${logged.map(([kind, n]) => `${kind.replaceAll('_', ' ')} ${n}`).join(' · ')}`,
        ],
        width,
      ),
    );
  }
  lines.push('');
  lines.push(pc.bold('Blocking now'));
  const trees = sample ? blockingTrees(sample, now, width) : [];
  lines.push(...(trees.length > 0 ? trees : [pc.dim('  nobody is waiting on a lock')]));
  lines.push('');
  lines.push(pc.bold('Findings'));
  const recent = latestFindings(state.recentFindings)
    .slice(-FINDINGS_SHOWN)
    .flatMap((f) =>
      findingParts(f).flatMap((part, i) =>
        wrap(part, width - (i === 0 ? 2 : 4), '    ').map((l) => (i === 0 ? '  ' : '    ') + l),
      ),
    );
  lines.push(...(recent.length > 0 ? recent : [pc.dim('  none yet')]));
  if (notes.length > 0)
    lines.push('', ...notes.flatMap((n) => wrap(`! ${n}`, width, '  ', 2).map((l) => pc.yellow(l))));
  lines.push('', pc.dim(clip('Ctrl-C to stop · --json for machine-readable findings', width)));
  return `${lines.join('\n')}\n`;
}

function summary(sample: Sample, width: number): string[] {
  const clients = sample.sessions.filter((s) => s.backendType === 'client backend');
  const count = (state: string) => clients.filter((s) => s.state === state).length;
  const deadlocks = sample.counters.reduce((sum, c) => sum + c.deadlocks, 0);
  return pack(
    [
      `sessions ${clients.length}`,
      `active ${count('active')}`,
      `idle in transaction ${count('idle in transaction')}`,
      `waiting on a lock ${sample.lockWaits.length}`,
      `deadlocks since stats reset ${deadlocks}`,
      `sample ${sample.serverMs.toFixed(1)} ms`,
    ],
    width,
  );
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
    // Deep chains indent less than they nest, so a narrow terminal keeps room for the text.
    const indent = '  '.repeat(Math.min(depth, 6) + 1);
    const hang = `${indent}    `;
    if (wait) {
      const waited = wait.waitStart === null ? '' : ` ${secs(now - wait.waitStart)}`;
      const lock = describeLock(wait.mode, wait.object, wait.relation ?? wait.lockType);
      const text = `└ pid ${pid} waits${waited} for ${lock}: ${statementOf(session)}`;
      lines.push(...wrap(text, width - indent.length, hang.slice(indent.length)).map((l) => indent + l));
    } else {
      const state = session?.state ?? 'unknown';
      const since = session?.stateChange == null ? '' : ` ${secs(now - session.stateChange)}`;
      const app = session?.application ? ` · ${terminalText(session.application)}` : '';
      const waiting = (children.get(pid) ?? []).length;
      const text = `ROOT pid ${pid} (${state}${since}${app}) · blocks ${waiting} directly: ${statementOf(session)}`;
      const wrapped = wrap(text, width - indent.length, hang.slice(indent.length)).map((l) => indent + l);
      lines.push(...wrapped.map((l, i) => (i === 0 ? l.replace('ROOT', pc.red('ROOT')) : l)));
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
