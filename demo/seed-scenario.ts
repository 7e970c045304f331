import type { Clock } from '../src/core/ports.js';
import { sleep } from '../src/platform/abortable-sleep.js';
import { systemClock } from '../src/platform/system-clock.js';
import { renderIncidentDetail, type IncidentDetail as ShownDetail } from '../src/cli/incident-view.js';
import { checkDemoIncident } from './demo-checks.js';
import { DemoNarrator } from './demo-narrator.js';
import { DemoStack, type RunningDemo } from './demo-stack.js';
import { insightOf, type HindsightClient, type IncidentDetail } from './hindsight-client.js';
import { IncidentFollower, tellIncident } from './incident-follower.js';
import type { ShopRelease } from './shop/checkout.js';

export interface SeedDemoOptions {
  /** No pauses for reading (the exit code is the same: 0 once resolved and the checks hold, 1 otherwise). */
  readonly ci: boolean;
  /** The final incident as one JSON object on stdout (the narration goes to stderr). */
  readonly json: boolean;
  readonly users: number;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly clock?: Clock;
}

/**
 * How long each act lasts: a person reads along; CI does not wait for anyone. `outageMs`: v2 runs
 * at least this long, so that most buyers meet a failed checkout (about 30% of users, as in the seed).
 */
const PACE = {
  normal: { warmupMs: 15_000, escalateAfterMs: 10_000, ruleWindowMs: 20_000, outageMs: 20_000 },
  ci: { warmupMs: 8_000, escalateAfterMs: 6_000, ruleWindowMs: 15_000, outageMs: 24_000 },
};

class DemoFailure extends Error {
  override readonly name = 'DemoFailure';
}

/**
 * `npm start` / `hindsight demo`: the seed's outage replayed. The shop runs v1 under simulated
 * users; deploy v2 reverses checkout's lock order and checkout deadlocks with the restock job;
 * Hindsight opens one incident and pages alice, nobody acknowledges, the database team is paged;
 * alice's "optimizing slow queries" is marked a dead end; the fix v2.1 goes out and the incident
 * resolves. Returns the exit code (130 when stopped with Ctrl-C).
 */
export async function runSeedDemo(options: SeedDemoOptions): Promise<number> {
  const clock = options.clock ?? systemClock;
  const pace = options.ci ? PACE.ci : PACE.normal;
  const stop = new AbortController();
  const narrator = new DemoNarrator({
    out: options.json ? options.stderr : options.stdout,
    clock,
    paced: !options.ci,
    signal: stop.signal,
  });
  const onSignal = (): void => {
    if (!stop.signal.aborted)
      narrator.say('step', 'stopping: taking everything down and removing what the demo created…');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stack = await DemoStack.create();
  narrator.say(
    'step',
    `hindsight demo: the seed's outage, replayed (everything lives in ${stack.dir}; Ctrl-C stops and removes it)`,
  );
  let code = 1;
  try {
    const { final, problems } = await play({ stack, narrator, clock, pace, options, signal: stop.signal });
    // The record is printed whatever the verdict: it is what a failed check is read against.
    if (options.json) options.stdout.write(`${JSON.stringify(final)}\n`);
    if (problems.length > 0)
      narrator.say('problem', `${problems.length} check${problems.length === 1 ? '' : 's'} failed (above)`);
    code = problems.length === 0 ? 0 : 1;
  } catch (error) {
    if (stop.signal.aborted) code = 130;
    else {
      narrator.say(
        'problem',
        error instanceof DemoFailure
          ? error.message
          : `the demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      code = 1;
    }
  } finally {
    await stack.stop();
    narrator.say('step', `stopped; removed ${stack.dir}`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return code;
}

interface Play {
  readonly stack: DemoStack;
  readonly narrator: DemoNarrator;
  readonly clock: Clock;
  readonly pace: (typeof PACE)['normal'];
  readonly options: SeedDemoOptions;
  readonly signal: AbortSignal;
}

/** The story; resolves with the final incident and what the checks found wrong with it. */
async function play({
  stack,
  narrator,
  clock,
  pace,
  options,
  signal,
}: Play): Promise<{ final: IncidentDetail; problems: string[] }> {
  const aborted = (): void => {
    if (signal.aborted) throw new Error('stopped');
  };
  /** A moment for the reader (none in --ci); Ctrl-C meanwhile ends the story there. */
  const beat = async (ms: number): Promise<void> => {
    await narrator.pause(ms);
    aborted();
  };
  let lastConsoleLine = '';
  const running = await stack.start({
    users: options.users,
    escalateAfterMs: pace.escalateAfterMs,
    ruleWindowMs: pace.ruleWindowMs,
    narrator,
    clock,
    signal,
    onConsoleLine: (line) => {
      // One line per recipient, the same text: shown once.
      if (line !== lastConsoleLine) narrator.say('page', `serve's console channel (a terminal): ${line}`);
      lastConsoleLine = line;
    },
    onPage: (page) => {
      const who = page.body.recipient?.user?.name ?? page.body.recipient?.target ?? 'someone';
      narrator.say(
        'page',
        `pager webhook ${page.signed ? '(signature checked)' : '(BAD SIGNATURE)'}: ${page.body.kind} → ${who}: ${page.body.headline}`,
      );
    },
  });
  aborted();
  const { client, shop, load, tokens } = running;
  narrator.say(
    'step',
    `the shop, release v1, serves on ${running.shopUrl}: ${options.users} simulated users (${Math.round(options.users * 0.3)} of them check out), and the inventory restock job runs`,
  );
  narrator.say(
    'step',
    'v1: checkout locks the product row, then its stock — the order the restock job uses. No deadlock.',
  );

  const follower = new IncidentFollower({ client, service: 'shop', narrator });
  const background = new AbortController();
  const stopBackground = (): void => {
    background.abort();
  };
  signal.addEventListener('abort', stopBackground, { once: true });
  const following = follower.follow(background.signal);
  const watchingUsers = usersLoop(load, clock, narrator, background.signal);
  let deployedAt: number | null = null;
  follower.onOpened = (opened) => {
    const when =
      deployedAt === null
        ? 'on v1, before any deploy'
        : `${((opened.incident.createdAt - deployedAt) / 1000).toFixed(1)} s after deploy v2`;
    narrator.say('hindsight', `incident opened ${when} — ${opened.incident.id}: ${opened.incident.title}`);
    tellIncident(opened, narrator);
  };
  try {
    await sleep(pace.warmupMs, signal);
    aborted();

    const v2At = clock.now();
    deployedAt = v2At;
    await deploy({
      client,
      narrator,
      version: 'v2',
      commit: '3f2a9c1',
      note: '"checkout: reserve stock before pricing" — checkout now locks the stock row, then the product',
      apply: () => {
        shop.deploy('v2');
      },
    });
    narrator.say(
      'step',
      'the restock job still locks the product, then the stock: a checkout and a restock of the same product can now wait for each other',
    );

    const detected = await waitUntil(() => follower.detail, 45_000, signal);
    aborted();
    if (detected === null)
      throw new DemoFailure(
        `no incident was opened within 45 s of deploy v2: Hindsight did not detect the outage`,
      );

    await beat(2500);
    narrator.say(
      'people',
      "alice, on call, does not acknowledge: she opens the slow query log, as in the seed's postmortem",
    );
    await client.note(
      detected.incident.id,
      'Optimizing slow queries: UPDATE products / UPDATE inventory take 100 ms+ in the slow query log at peak.',
      false,
      tokens.alice,
    );
    await follower.poll();

    const escalated = await waitUntil(
      () =>
        follower.detail?.timeline.find((e) => e.kind === 'escalated' && e.text.includes('team:database')) ??
        null,
      pace.escalateAfterMs + 20_000,
      signal,
    );
    aborted();
    if (escalated === null)
      narrator.say('problem', 'the database team was not paged (no escalation on the timeline)');
    await beat(2500);
    await client.note(
      detected.incident.id,
      'Optimizing slow queries: no effect. They were not slow; they were waiting on locks.',
      true,
      tokens.alice,
    );
    await follower.poll();
    await beat(2500);
    await sleep(v2At + pace.outageMs - clock.now(), signal);
    aborted();
    const now = await client.detail(detected.incident.id);
    narrator.say('people', `dora (database team) reads the incident: ${now.incident.summary}`);
    await client.note(
      detected.incident.id,
      'Deadlock between checkout and the restock job: v2 reversed the lock order in checkout. Rolling out v2.1: one lock order (product, then stock) again.',
      false,
      tokens.dora,
    );
    await follower.poll();
    await beat(1500);

    const fixAt = clock.now();
    const during = load.report(v2At);
    await deploy({
      client,
      narrator,
      version: 'v2.1',
      commit: '9b7e4d0',
      note: 'the fix: checkout locks the product, then its stock, like restock',
      apply: () => {
        shop.deploy('v2.1');
      },
    });
    narrator.say(
      'users',
      `between deploy v2 and v2.1, ${during.failedCheckouts} of ${during.checkouts} checkouts failed; ${during.affectedUsers} of ${during.activeUsers} users (${pct(during.affectedUsers / Math.max(1, during.activeUsers))}) got an error`,
    );

    const resolved = await waitUntil(
      () => (follower.detail?.incident.state === 'resolved' ? follower.detail : null),
      pace.ruleWindowMs + 60_000,
      signal,
    );
    aborted();
    background.abort();
    await Promise.all([following, watchingUsers]);
    const final = await client.detail(detected.incident.id);
    if (resolved === null)
      narrator.say(
        'problem',
        `the incident did not resolve within ${(pace.ruleWindowMs + 60_000) / 1000} s of the fix`,
      );
    else {
      const lately = load.report(clock.now() - 10_000);
      narrator.say(
        'hindsight',
        `incident resolved ${(((final.incident.resolvedAt ?? clock.now()) - fixAt) / 1000).toFixed(1)} s after the fix deploy (${lately.failedCheckouts} of ${lately.checkouts} checkouts failed in the last 10 s)`,
      );
    }
    const impact = insightOf(final).impact;
    if (impact) {
      narrator.say(
        'users',
        `Hindsight's impact: ${pct(impact.share)} of users (${impact.affectedUsers} of ${impact.activeUsers}); what the simulated users saw: ${pct(during.affectedUsers / Math.max(1, during.activeUsers))}`,
      );
    }

    if (!options.ci && !options.json) {
      // Hundreds of deadlocks are its evidence: the first few stand for them here.
      const shown = { ...final, evidence: final.evidence.slice(0, 3) } as unknown as ShownDetail;
      narrator.say(
        'step',
        `the record, as \`hindsight incident show ${final.incident.id}\` prints it (evidence: the first 3 of ${final.evidence.length} findings):`,
      );
      narrator.raw(`\n${renderIncidentDetail(shown, clock.now())}\n`);
    }
    const problems = checkDemoIncident(final, { incidentsOpened: follower.incidents.length, fixAt });
    if (problems.length > 0) {
      for (const p of problems) narrator.say('problem', p);
    } else {
      narrator.say(
        'step',
        'all checks hold: one incident naming both statements and their call sites, deploy v2 as the onset, the impact, the escalation, resolved after the fix',
      );
    }
    narrator.say('step', `demo done in ${narrator.elapsedSeconds().toFixed(0)} s`);
    return { final, problems };
  } finally {
    background.abort();
    signal.removeEventListener('abort', stopBackground);
    await Promise.all([following, watchingUsers]);
  }
}

/** A deploy as it happens: the running app switches release, and the marker goes to Hindsight (`hindsight deploy`). */
async function deploy(o: {
  client: HindsightClient;
  narrator: DemoNarrator;
  version: ShopRelease;
  commit: string;
  note: string;
  apply: () => void;
}): Promise<void> {
  o.apply();
  o.narrator.say('step', `deploy ${o.version} (commit ${o.commit}): ${o.note}`);
  await o.client.deploy({ service: 'shop', version: o.version, commit: o.commit });
  o.narrator.detail(
    `marker sent, as CI would: hindsight deploy ${o.version} --service shop --commit ${o.commit}`,
  );
}

/** Read through a call: a loop's own check does not tell TypeScript that the signal can change meanwhile. */
const stopped = (signal: AbortSignal): boolean => signal.aborted;

const pct = (share: number): string => `${Math.round(share * 100)}%`;

/** Every 5 s, what the users saw in the last 5 s. */
async function usersLoop(
  load: RunningDemo['load'],
  clock: Clock,
  narrator: DemoNarrator,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    await sleep(5000, signal);
    if (stopped(signal)) return;
    const r = load.report(clock.now() - 5000);
    narrator.say(
      'users',
      `last 5 s: ${Math.round(r.requests / 5)} requests/s; ${r.failedCheckouts} of ${r.checkouts} checkouts failed${r.affectedUsers > 0 ? `; ${r.affectedUsers} users saw an error` : ''}`,
    );
  }
}

/** `probe()` every 200 ms until it gives a value, or null after `timeoutMs` (or when `signal` aborts). */
async function waitUntil<T>(
  probe: () => T | null,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<T | null> {
  for (let waited = 0; waited <= timeoutMs && !signal.aborted; waited += 200) {
    const value = probe();
    if (value !== null) return value;
    await sleep(200, signal);
  }
  return null;
}
