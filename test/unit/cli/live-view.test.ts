import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { WatchState } from '../../../src/app/watch-cycle.js';
import { describeFinding } from '../../../src/cli/finding-line.js';
import { renderWatchView } from '../../../src/cli/live-view.js';
import { T0, sample, session, wait } from '../../support/sample-builder.js';

// Read the text, not the colours.
const plain = (text: string): string => stripVTControlCharacters(text);

const state = (over: Partial<WatchState>): WatchState => ({
  target: 'db/shop',
  reachable: true,
  problem: null,
  lastSample: null,
  samplesTaken: 0,
  recentFindings: [],
  ...over,
});

describe('renderWatchView', () => {
  it('draws each blocking tree from its root, waiters nested under the session they wait on', () => {
    const chain = sample(T0, {
      sessions: [
        session(1, { state: 'idle in transaction', stateChange: T0 - 40_000, application: 'checkout', query: 'UPDATE inventory SET qty = qty - $1' }),
        session(2, { query: 'UPDATE inventory SET qty = qty + $1' }),
        session(3, { query: 'SELECT qty FROM inventory FOR UPDATE' }),
      ],
      lockWaits: [
        wait(2, [1], { relation: 'public.inventory', waitStart: T0 - 12_000 }),
        wait(3, [2], { relation: 'public.inventory', waitStart: T0 - 3_000 }),
      ],
    });
    const text = plain(renderWatchView(state({ lastSample: chain }), T0, 200));
    const lines = text.split('\n');
    const root = lines.findIndex((l) => l.includes('ROOT pid 1'));
    expect(lines[root]).toContain('idle in transaction 40s · checkout');
    expect(lines[root + 1]).toMatch(/^ {4}└ pid 2 waits 12s for ShareLock on public\.inventory: UPDATE inventory/);
    expect(lines[root + 2]).toMatch(/^ {6}└ pid 3 waits 3\.0s/);
    expect(text).toContain('waiting on a lock 2');
  });

  it('shows a cycle (a deadlock forming) even though it has no root', () => {
    const cycle = sample(T0, { lockWaits: [wait(7, [8]), wait(8, [7])] });
    expect(plain(renderWatchView(state({ lastSample: cycle }), T0, 120))).toContain('CYCLE (deadlock forming)');
  });

  it('says when the target is unreachable, and shows notes and recent findings', () => {
    const unreachable = { kind: 'target_unreachable', id: 'u', target: 'db/shop', at: T0, reason: 'connection refused' } as const;
    const text = plain(
      renderWatchView(state({ reachable: false, problem: 'connection refused', recentFindings: [unreachable] }), T0, 120, {
        notes: ['log rotated'],
        logCounts: new Map([
          ['lock_timeout', 2],
          ['statement', 40],
        ]),
      }),
    );
    expect(text).toContain('UNREACHABLE: connection refused (retrying)');
    expect(text).toContain(describeFinding(unreachable));
    expect(text).toContain('! log rotated');
    expect(text).toContain('server log since start: lock timeout 2');
    expect(text).not.toContain('statement 40'); // every logged statement would drown the rest
  });
});
