/**
 * Run as a child process by embedded-store.test.ts: opens the embedded store in the data directory
 * given as argv[2], prints `open <its own pid> <postmaster pid>` (tsx runs it in a child process of
 * its own: that pid is the one to kill), then commits tokens one by one, printing
 * `committed <id>` after each commit returns — until it is killed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../../src/store/postgres/embedded-store.js';

const dataDir = process.argv[2] ?? '';
const prefix = process.argv[3] ?? 'w';
const store = await openEmbeddedStore({ dataDir });
const postmasterPid = (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0];
process.stdout.write(`open ${process.pid} ${postmasterPid ?? ''}\n`);
for (let i = 0; ; i++) {
  const id = `${prefix}-${i}`;
  await store.tokens.insert({ id, name: id, secretHash: `hash-${id}`, role: 'viewer', createdAt: i });
  process.stdout.write(`committed ${id}\n`);
}
