import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  addNote,
  changeIncident,
  listIncidents,
  showIncident,
} from '../../../src/cli/commands/incident-run.js';
import { EXIT, reportError } from '../../../src/cli/report-error.js';
import { ServerClient } from '../../../src/cli/server-client.js';
import { createApiHarness, openIncident, type ApiHarness } from '../../support/api-harness.js';

/** The CLI's commands against the whole API in memory: fetch goes to `app.request`. */
function cli(h: ApiHarness, token: string) {
  let out = '';
  const io = {
    stdout: Object.assign(
      { write: (chunk: string) => ((out += chunk), true) },
      { columns: 100 },
    ) as unknown as NodeJS.WritableStream & { columns: number },
    fetch: ((input: string | URL | Request, init?: RequestInit) =>
      h.app.request(input, init)) as typeof fetch,
    now: () => h.clock.now() + 5 * 60_000,
  };
  const flags = { server: 'http://hindsight.test', token };
  return { io, flags, out: () => out };
}

/** What the CLI's main would print and exit with. */
async function failure(run: Promise<unknown>): Promise<{ code: number; line: string }> {
  let line = '';
  try {
    await run;
  } catch (error) {
    const code = reportError(error, (l) => (line += l));
    return { code, line };
  }
  throw new Error('expected the command to fail');
}

describe('incident commands against the API', () => {
  it('lists incidents as a table and as the JSON the server sent', async () => {
    const h = await createApiHarness();
    const id = await openIncident(h);
    const c = cli(h, h.secrets.viewer);
    await listIncidents({ ...c.flags, state: 'open', limit: '100', json: false }, c.io);
    const [head, row, end] = c.out().split('\n');
    expect(head).toMatch(/^ID\s+STATE\s+SERVICE\s+AGE\s+SUMMARY$/);
    expect(row).toMatch(new RegExp(`^${id}\\s+triggered\\s+shop\\s+(300 s|5 min)\\s+\\S`));
    expect(end).toBe('');
    const j = cli(h, h.secrets.viewer);
    await listIncidents({ ...j.flags, state: 'all', limit: '10', json: true }, j.io);
    expect((JSON.parse(j.out()) as { incidents: { id: string }[] }).incidents.map((i) => i.id)).toEqual([id]);
  });

  it('acknowledges, notes a dead end and shows the timeline', async () => {
    const h = await createApiHarness();
    const id = await openIncident(h);
    const c = cli(h, h.secrets.responder);
    await changeIncident(id, 'acknowledge', c.flags, c.io);
    await addNote(id, { text: 'optimized slow queries: not it', deadEnd: true }, c.flags, c.io);
    await showIncident(id, { ...c.flags, json: false }, c.io);
    const out = c.out();
    expect(out).toContain(`${id} is now acknowledged\n`);
    expect(out).toContain(`note added to ${id} (dead end)\n`);
    expect(out).toMatch(/state\s+acknowledged/);
    expect(out).toMatch(/token:rita\s+note\s+optimized slow queries: not it \[dead end\]/);
  });

  it("prints the server's code and message in one line: 404 and 409 are user errors, 403 says so", async () => {
    const h = await createApiHarness();
    const id = await openIncident(h);
    const c = cli(h, h.secrets.responder);
    const missing = await failure(showIncident('inc_missing', { ...c.flags, json: false }, c.io));
    expect(missing.code).toBe(EXIT.user);
    expect(missing.line).toMatch(/^hindsight: .+ \[INCIDENT_NOT_FOUND\]\n$/);
    await changeIncident(id, 'resolve', c.flags, c.io);
    const conflict = await failure(changeIncident(id, 'acknowledge', c.flags, c.io));
    expect(conflict.code).toBe(EXIT.user);
    expect(conflict.line.split('\n')).toHaveLength(2);
    const viewer = cli(h, h.secrets.viewer);
    const forbidden = await failure(changeIncident(id, 'reopen', viewer.flags, viewer.io));
    expect(forbidden.code).toBe(EXIT.user);
    const unknown = cli(h, 'not-a-token');
    const unauthenticated = await failure(
      listIncidents({ ...unknown.flags, state: 'open', limit: '1', json: false }, unknown.io),
    );
    expect(unauthenticated.line).toMatch(/pass --token or set HINDSIGHT_TOKEN\) \[UNAUTHENTICATED\]\n$/);
  });

  it('treats a 5xx and an unreachable server as transient (exit 3), and prints server text as text', async () => {
    const broken = new ServerClient({ server: 'http://x', token: 't' }, () =>
      Promise.resolve(
        new Response(JSON.stringify({ code: 'STORE_DOWN', message: 'store \u001b[31munavailable' }), {
          status: 503,
        }),
      ),
    );
    const down = await failure(broken.get('/api/v1/incidents'));
    expect(down.code).toBe(EXIT.transient);
    expect(down.line).toBe('hindsight: http://x: store \\x1b[31munavailable [STORE_DOWN]\n');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = new ServerClient({ server: `http://127.0.0.1:${port}`, token: 't' });
    const unreachable = await failure(nowhere.get('/api/v1/incidents'));
    expect(unreachable.code).toBe(EXIT.transient);
    expect(unreachable.line).toMatch(
      /cannot reach the Hindsight server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
  });

  it('rejects a bad --state before calling the server', async () => {
    const h = await createApiHarness();
    const c = cli(h, h.secrets.viewer);
    const bad = await failure(listIncidents({ ...c.flags, state: 'closed', limit: '10', json: false }, c.io));
    expect(bad.code).toBe(EXIT.user);
    expect(bad.line).toContain('--state must be open, resolved or all');
  });
});
