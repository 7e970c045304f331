/**
 * Writes stderr logs of shapes the recorded bench log lacks, to run `bench:analyze` on:
 *
 *   npx tsx bench/synthetic-logs.ts literals bench/out/literals.log 300   # pgbench-like, literals inline
 *   npx tsx bench/synthetic-logs.ts distinct bench/out/distinct.log 300   # long statements, all different
 *   npm run bench:analyze -- bench/out/literals.log --prefix '%m [%p] %q%u@%d/%a ' --skip-pgbadger
 *
 * `literals`: every statement of pgbench's TPC-B-like script logged with its duration and its
 * literals inline, as a server with log_min_duration_statement = 0 and simple-protocol clients
 * writes it (each text is new; few shapes). `distinct`: 1.3 kB statements with a 150-number IN list.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const [shape, file, mb = '300'] = process.argv.slice(2);
if ((shape !== 'literals' && shape !== 'distinct') || file === undefined) {
  console.error('usage: npx tsx bench/synthetic-logs.ts literals|distinct OUT.log [MB]');
  process.exit(2);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const timestamp = (ms: number): string => {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)} UTC`;
};
const random = (n: number): number => Math.floor(Math.random() * n);

const tpcb = [
  () => 'BEGIN;',
  () =>
    `UPDATE pgbench_accounts SET abalance = abalance + ${random(10_000) - 5_000} WHERE aid = ${random(1_000_000)};`,
  () => `SELECT abalance FROM pgbench_accounts WHERE aid = ${random(1_000_000)};`,
  () =>
    `UPDATE pgbench_tellers SET tbalance = tbalance + ${random(10_000) - 5_000} WHERE tid = ${random(100)};`,
  () =>
    `UPDATE pgbench_branches SET bbalance = bbalance + ${random(10_000) - 5_000} WHERE bid = ${random(10)};`,
  () =>
    `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${random(100)}, ${random(10)}, ${random(1_000_000)}, ${random(10_000) - 5_000}, CURRENT_TIMESTAMP);`,
  () => 'END;',
];
const statement = (i: number): string =>
  shape === 'literals'
    ? (tpcb[i % tpcb.length] as () => string)()
    : `SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id IN (${Array.from({ length: 150 }, () => random(1_000_000)).join(', ')}) /* ${i} */`;

const out = createWriteStream(file);
const target = Number(mb) * 1e6;
let at = Date.UTC(2026, 2, 1, 15);
let written = 0;
for (let i = 0; written < target; i++) {
  at += 1;
  const line = `${timestamp(at)} [${1000 + (i % 16)}] postgres@bench/pgbench LOG:  duration: ${Math.random().toFixed(3)} ms  statement: ${statement(i)}\n`;
  written += line.length;
  if (!out.write(line)) await once(out, 'drain');
}
out.end();
await once(out, 'finish');
console.log(`${file}: ${(written / 1e6).toFixed(1)} MB of ${shape}`);
