/**
 * `npm run bench:ingest`: app events into one `hindsight serve` (its embedded store, durable
 * commits) over real HTTP, gzipped batches of BATCH (default 500) events as the SDK sends them.
 * The events are realistic: service `shop`, 12 routes, USERS (default 2,000) users, ~4% failed
 * requests with a SQL failure (40P01 at one of two call sites), a few job failures.
 *
 * Two phases on one server, each SECONDS (default 20) after a 3 s warm-up: a closed loop of CLIENTS
 * (default 16) posting back to back — the most it takes — then an open loop offering 50,000
 * events/s — the latency at the target's load. RATE=N runs only the open loop, at N.
 *
 * Prints per phase: events/s stored (counted from the 202 replies), batches/s, batch latency
 * p50/p99/max, CPU of serve and of its PostgreSQL; then the verdict against the target: 50,000
 * events/s on 2 cores, p99 < 50 ms. The clients run in this process: on a 2-core machine they take
 * CPU from the server too.
 */
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { freePort } from '../src/platform/local-postgres.js';
import { ServeProcess } from '../test/support/serve-process.js';

const CLIENTS = Number(process.env.CLIENTS ?? 16);
const BATCH = Number(process.env.BATCH ?? 500);
const SECONDS = Number(process.env.SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.WARMUP_SECONDS ?? 3);
const USERS = Number(process.env.USERS ?? 2_000);
const ADMIN = 'bench-ingest-admin-token-0123456789';
/** The target: 50,000 events/s into one server on 2 cores, p99 < 50 ms. */
const TARGET_RATE = 50_000;

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;

const ROUTES = [
  ['GET', '/products'],
  ['GET', '/products/:id'],
  ['GET', '/cart'],
  ['POST', '/cart/items'],
  ['DELETE', '/cart/items/:id'],
  ['POST', '/checkout'],
  ['GET', '/orders'],
  ['GET', '/orders/:id'],
  ['POST', '/login'],
  ['GET', '/search'],
  ['GET', '/healthz'],
  ['GET', '(unmatched)'],
] as const;

/** One batch as the SDK sends it: `at` around now, so that events land in the current buckets. */
function batchBody(seed: number, now: number): Buffer {
  let x = seed * 2_654_435_761;
  const rand = (): number => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
  const events = Array.from({ length: BATCH }, (_, i) => {
    const [method, route] = ROUTES[Math.floor(rand() * ROUTES.length)] ?? ROUTES[0];
    const at = now - Math.floor(rand() * 2_000) + i;
    if (rand() < 0.005) {
      return {
        kind: 'query_failure',
        at,
        job: 'restock',
        release: 'v2',
        failure: {
          sqlstate: '40P01',
          query: 'UPDATE products SET stock = stock + $1 WHERE id = $2',
          callSite: 'demo/shop/restock.ts:20',
        },
      };
    }
    const failed = route === '/checkout' ? rand() < 0.3 : rand() < 0.01;
    return {
      kind: 'request',
      at,
      method,
      route,
      status: failed ? 500 : 200,
      durationMs: Math.round(rand() * 400) / 10,
      user: `user-${Math.floor(rand() * USERS)
        .toString(16)
        .padStart(8, '0')}`,
      errorClass: failed ? 'DatabaseError' : null,
      release: 'v2',
      sqlFailures: failed
        ? [
            {
              sqlstate: '40P01',
              query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
              callSite: rand() < 0.9 ? 'demo/shop/checkout.ts:88' : 'demo/shop/checkout.ts:91',
            },
          ]
        : [],
    };
  });
  return gzipSync(JSON.stringify({ service: 'shop', sdk: 'hindsight-node/0.1.0', dropped: 0, events }));
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); 0 when it is gone. */
async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** serve's own process, and its PostgreSQL: the postmaster and every child of it. */
async function serverPids(servePid: number, dataDir: string): Promise<{ serve: number; postgres: number[] }> {
  const postmaster = Number(
    (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0],
  );
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === postmaster) children.push(Number(entry));
  }
  return { serve: servePid, postgres: [postmaster, ...children] };
}

const sumCpu = async (pids: readonly number[]): Promise<number> =>
  (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);

const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });

/** One POST over a kept-alive connection; resolves with the status and the events accepted. */
function post(url: URL, token: string, body: Buffer): Promise<{ status: number; accepted: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': body.length,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          const accepted = res.statusCode === 202 ? (JSON.parse(text) as { accepted: number }).accepted : 0;
          resolve({ status: res.statusCode ?? 0, accepted });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

console.log(
  `bench:ingest — ${cpus().length} cores, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; batches of ${BATCH} events, ${SECONDS} s a phase after ${WARMUP_SECONDS} s warm-up`,
);

const dir = await mkdtemp(join(tmpdir(), 'hindsight-bench-ingest-'));
await chmod(dir, 0o755);
const serve = new ServeProcess(
  ['--port', String(await freePort()), '--data-dir', join(dir, 'data')],
  { HINDSIGHT_ADMIN_TOKEN: ADMIN, HINDSIGHT_LOG_LEVEL: 'warn' },
  (process.env.SERVE_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
);
try {
  await serve.ready(90_000);
  const created = await serve.api<{ secret: string }>('/api/v1/tokens', {
    token: ADMIN,
    body: { name: 'bench-sdk', role: 'ingest' },
  });
  if (created.status !== 201) throw new Error(`could not create an ingest token: ${created.status}`);
  const token = created.body.secret;
  const url = new URL('/api/v1/events', serve.url);
  const bodies = Array.from({ length: 64 }, (_, i) => batchBody(i + 1, Date.now()));
  console.log(
    `batch: ${BATCH} events, ${(bodies.reduce((s, b) => s + b.length, 0) / bodies.length / 1024).toFixed(1)} KiB gzipped`,
  );

  let measuring = false;
  let stopping = false;
  let accepted = 0;
  let batches = 0;
  let failures = 0;
  let latencies: number[] = [];
  const record = (status: number, events: number, ms: number): void => {
    if (status !== 202) failures += 1;
    accepted += events;
    batches += 1;
    latencies.push(ms);
  };
  const client = async (n: number): Promise<void> => {
    for (let i = n; !stopping; i += CLIENTS) {
      const started = performance.now();
      const reply = await post(url, token, bodies[i % bodies.length] ?? bodies[0]!);
      if (measuring) record(reply.status, reply.accepted, performance.now() - started);
    }
  };
  // An open loop — a batch every BATCH/rate s, whatever is outstanding (at most 1,000 in flight) —
  // measures latency at a given load; a closed loop's latency is clients × batch / throughput.
  const openLoop = async (rate: number): Promise<void> => {
    const everyMs = (1000 * BATCH) / rate;
    const inFlight = new Set<Promise<void>>();
    const t0 = performance.now();
    for (let i = 0; !stopping; i += 1) {
      const wait = t0 + i * everyMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (inFlight.size >= 1000) {
        await Promise.race(inFlight);
        continue;
      }
      const sent = performance.now();
      const counted = measuring;
      const p = post(url, token, bodies[i % bodies.length] ?? bodies[0]!).then((reply) => {
        if (counted && measuring) record(reply.status, reply.accepted, performance.now() - sent);
      });
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    await Promise.all(inFlight);
  };
  const pids = await serverPids(serve.child.pid ?? 0, join(dir, 'data'));

  /** One phase: warm-up, then a measured window; prints what it saw and returns rate and p99. */
  const phase = async (title: string, run: () => Promise<void>[]): Promise<{ rate: number; p99: number }> => {
    console.log(title);
    stopping = false;
    [accepted, batches, failures, latencies] = [0, 0, 0, []];
    const running = run();
    await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
    pids.postgres = (await serverPids(pids.serve, join(dir, 'data'))).postgres;
    const serveCpu0 = await cpuSeconds(pids.serve);
    const pgCpu0 = await sumCpu(pids.postgres);
    const clientCpu0 = process.cpuUsage();
    measuring = true;
    const started = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    measuring = false;
    const elapsed = (performance.now() - started) / 1000;
    const serveCpu = (await cpuSeconds(pids.serve)) - serveCpu0;
    const pgCpu = (await sumCpu(pids.postgres)) - pgCpu0;
    const clientUsage = process.cpuUsage(clientCpu0);
    const clientCpu = (clientUsage.user + clientUsage.system) / 1e6;
    stopping = true;
    await Promise.all(running);

    latencies.sort((x, y) => x - y);
    const rate = accepted / elapsed;
    const p99 = quantile(latencies, 0.99);
    console.log(
      `  events stored: ${accepted} in ${elapsed.toFixed(1)} s → ${Math.round(rate).toLocaleString('en')} events/s (${(batches / elapsed).toFixed(0)} batches/s, ${failures} failed)`,
    );
    console.log(
      `  batch latency: p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${(latencies.at(-1) ?? NaN).toFixed(1)} ms`,
    );
    const serverCpu = serveCpu + pgCpu;
    console.log(
      `  CPU in the window: serve ${serveCpu.toFixed(1)} s, its PostgreSQL ${pgCpu.toFixed(1)} s, the clients ${clientCpu.toFixed(1)} s → ` +
        `${serverCpu > 0 ? (accepted / serverCpu / 1000).toFixed(1) : '?'}k events per server CPU-second ` +
        `(${Math.round((serveCpu / accepted) * 1e6 * 10) / 10} µs serve + ${Math.round((pgCpu / accepted) * 1e6 * 10) / 10} µs PostgreSQL per event)`,
    );
    return { rate, p99 };
  };

  // By default both questions of the target, on one server: how many events/s it takes (a closed
  // loop of CLIENTS), and its p99 when offered 50,000/s (an open loop). RATE=N: only the open loop at N.
  const RATE = process.env.RATE === undefined ? null : Number(process.env.RATE);
  const most =
    RATE === null
      ? await phase(`closed loop: ${CLIENTS} clients back to back (the most it takes)`, () =>
          Array.from({ length: CLIENTS }, (_, n) => client(n)),
        )
      : null;
  const offered = RATE ?? TARGET_RATE;
  const at = await phase(
    `open loop: ${offered.toLocaleString('en')} events/s offered (${(offered / BATCH).toFixed(0)} batches/s)`,
    () => [openLoop(offered)],
  );
  // 1% slack on the open loop's rate: the window's edges cut the batches in flight there (an open
  // loop at exactly 50,000/s counts 49,9xx).
  const throughput = most === null ? at.rate >= TARGET_RATE * 0.99 : most.rate >= TARGET_RATE;
  const met = throughput && offered >= TARGET_RATE && at.p99 < 50;
  console.log(
    `target 50,000 events/s, p99 < 50 ms at 50,000/s: ${met ? 'met' : 'NOT met'} (wall clock, on this machine as loaded now)`,
  );
  const metrics = await serve.api<string>('/metrics', { token: ADMIN });
  const line = /hindsight_app_events_total\{outcome="accepted"\} (\d+)/.exec(metrics.body)?.[1];
  console.log(`server's hindsight_app_events_total{outcome="accepted"}: ${line ?? '?'} (warm-up included)`);
} finally {
  agent.destroy();
  await serve.stop();
  await rm(dir, { recursive: true, force: true });
}
