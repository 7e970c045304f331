/**
 * `npm run bench:paging`: paging through two `hindsight serve` replicas on one PostgreSQL store.
 * INCIDENTS (default 1,000) incidents are opened through PagerDuty's `/v2/enqueue` (alternating
 * between the replicas; `grouping: off`, so one incident each); halfway, one replica is killed with
 * SIGKILL and the rest go to the survivor. The policy pages a webhook channel at once (`after: 0m`)
 * served by this script, which records every delivery (a digest counts for each incident it lists).
 *
 * Prints: pages received, incidents paged, duplicates (a message delivered twice, or an incident
 * paged twice), unknown (messages the dead replica had claimed: marked unknown, never resent),
 * lost (neither paged nor unknown), and open-to-first-page p50/p95 (from the 202 of /v2/enqueue to
 * the webhook receiving it; target p95 ≤ 2 s).
 */
import { createServer, type IncomingMessage } from 'node:http';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, LocalPostgres } from '../src/platform/local-postgres.js';
import { ServeProcess } from '../test/support/serve-process.js';

const N = Number(process.env.INCIDENTS ?? 1000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const KEY = 'pd-routing-key-bench-0123456789abcdef';
const TOKEN = 'bench-admin-token-0123456789abcdef';

const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
};

console.log(
  `bench:paging — load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, ${N} incidents, 2 replicas, one killed midway`,
);

const dir = await mkdtemp(join(tmpdir(), 'hindsight-bench-paging-'));
await chmod(dir, 0o755);
const server = await LocalPostgres.start({ dataDir: join(dir, 'store') });
const replicas: ServeProcess[] = [];
const receiver = createServer();
try {
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE hindsight');
  await admin.end();
  const storeUrl = server.url('hindsight');

  // The webhook receiver: every delivery, by message id, with the incidents it names.
  const received = new Map<string, number>();
  const firstPage = new Map<string, number>();
  let deliveries = 0;
  let pagedTwice = 0;
  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        resolve(text);
      });
    });
  receiver.on('request', (req, res) => {
    void readBody(req).then((text) => {
      const at = Date.now();
      deliveries += 1;
      const body = JSON.parse(text) as {
        id: string;
        kind: string;
        incident?: { title: string };
        incidents?: { title: string }[];
      };
      received.set(body.id, (received.get(body.id) ?? 0) + 1);
      const titles =
        body.kind === 'digest'
          ? (body.incidents ?? []).map((i) => i.title)
          : body.incident
            ? [body.incident.title]
            : [];
      for (const title of titles) {
        if (firstPage.has(title)) pagedTwice += 1;
        else firstPage.set(title, at);
      }
      res.writeHead(200).end('ok');
    });
  });
  const hookPort = await freePort();
  await new Promise<void>((resolve) => receiver.listen(hookPort, '127.0.0.1', resolve));

  const config = join(dir, 'hindsight.config.yaml');
  await writeFile(
    config,
    `channels:
  - { name: hook, type: webhook, url: "http://127.0.0.1:${hookPort}/hook" }
escalationPolicies:
  - name: bench
    steps:
      - { after: 0m, notify: ["channel:hook"] }
services:
  - name: shop
    grouping: off
    escalationPolicy: bench
    integrations:
      - { type: pagerduty, secret: "${KEY}" }
`,
  );
  for (let r = 0; r < 2; r += 1) {
    const replica = new ServeProcess(
      ['--config', config, '--store', storeUrl, '--port', String(await freePort())],
      { HINDSIGHT_ADMIN_TOKEN: TOKEN, HINDSIGHT_LOG_LEVEL: 'warn' },
    );
    replicas.push(replica);
    await replica.ready();
  }
  const [a, b] = replicas as [ServeProcess, ServeProcess];

  const opened = new Map<string, number>();
  let next = 0;
  let killed = false;
  const enqueue = async (i: number): Promise<void> => {
    const title = `bench incident ${i}`;
    for (;;) {
      const target = !killed && i % 2 === 0 ? a : b;
      try {
        const response = await fetch(`${target.url}/v2/enqueue`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            routing_key: KEY,
            event_action: 'trigger',
            dedup_key: `k${i}`,
            payload: { summary: title, source: 'bench', severity: 'critical' },
          }),
        });
        await response.text();
        if (response.status === 202) {
          opened.set(title, Date.now());
          return;
        }
      } catch {
        // the killed replica: go to the survivor
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const i = next;
        next += 1;
        if (i === Math.floor(N / 2) && !killed) {
          killed = true;
          await a.stop('SIGKILL');
        }
        await enqueue(i);
      }
    }),
  );
  console.log(
    `enqueued ${N} in ${((Date.now() - started) / 1000).toFixed(1)} s (replica A killed after ${Math.floor(N / 2)})`,
  );

  // Wait for every incident to be paged or its message to be known unknown (the dead replica's claims, after the 60 s lease).
  const store = new pg.Client({ connectionString: storeUrl });
  await store.connect();
  const outboxStates = async (): Promise<Record<string, number>> => {
    const { rows } = await store.query<{ state: string; n: string }>(
      'SELECT state, count(*) AS n FROM outbox GROUP BY state',
    );
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  };
  const unknownTitles = async (): Promise<Set<string>> => {
    const { rows } = await store.query<{ title: string }>(
      "SELECT notification->'incident'->>'title' AS title FROM outbox WHERE state = 'unknown'",
    );
    return new Set(rows.map((r) => r.title));
  };
  const deadline = Date.now() + 120_000;
  let unknown = new Set<string>();
  while (Date.now() < deadline) {
    unknown = await unknownTitles();
    const settled = [...opened.keys()].filter((t) => firstPage.has(t) || unknown.has(t)).length;
    const states = await outboxStates();
    if (settled === N && (states.pending ?? 0) === 0 && (states.sending ?? 0) === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const states = await outboxStates();
  await store.end();

  const latencies = [...opened.entries()].flatMap(([title, at]) => {
    const paged = firstPage.get(title);
    return paged === undefined ? [] : [paged - at];
  });
  const lost = [...opened.keys()].filter((t) => !firstPage.has(t) && !unknown.has(t));
  const duplicateMessages = [...received.values()].filter((n) => n > 1).length;
  console.log(`outbox: ${JSON.stringify(states)}`);
  console.log(
    `webhook deliveries ${deliveries} (digests bundle a storm); incidents paged ${firstPage.size} of ${N}`,
  );
  console.log(
    `duplicates: ${duplicateMessages} messages delivered twice, ${pagedTwice} incidents paged twice`,
  );
  console.log(`unknown (claimed by the killed replica, not resent): ${unknown.size}; lost: ${lost.length}`);
  console.log(
    `open → first page: p50 ${quantile(latencies, 0.5).toFixed(0)} ms, p95 ${quantile(latencies, 0.95).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms (target p95 ≤ 2000 ms)`,
  );
} finally {
  await Promise.allSettled(replicas.map((r) => r.stop('SIGTERM')));
  receiver.close();
  await server.destroy();
  await rm(dir, { recursive: true, force: true });
}
