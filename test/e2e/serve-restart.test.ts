import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess } from '../support/cli-process.js';
import { firingNotification } from '../support/api-harness.js';

const ADMIN = 'restart-admin-token';
const AM_SECRET = 'am-restart-secret';
const isListening = (line: unknown): line is string =>
  typeof line === 'string' && line.startsWith('listening on http://');

async function startServe(dir: string): Promise<{ serve: CliProcess; url: string }> {
  const serve = new CliProcess(
    ['serve', '--config', join(dir, 'hindsight.config.yaml'), '--port', '0', '--data-dir', join(dir, 'data')],
    {
      HINDSIGHT_ADMIN_TOKEN: ADMIN,
      AM_SECRET,
    },
  );
  const line = await serve.waitFor(isListening, 45_000).catch((error: unknown) => {
    throw new Error(`serve did not start: ${String(error)}\nstderr:\n${serve.stderr}`);
  });
  return { serve, url: line.slice('listening on '.length) };
}

const fire = (url: string, n: number): Promise<Response> =>
  fetch(`${url}/api/v1/integrations/alertmanager`, {
    method: 'POST',
    headers: { authorization: `Bearer ${AM_SECRET}`, 'content-type': 'application/json' },
    body: JSON.stringify(firingNotification(`fp-${n}`, `burst alert ${n}`)),
  });

async function firingFingerprints(url: string): Promise<string[]> {
  const res = await fetch(`${url}/api/v1/alerts?status=firing&limit=1000`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  const body = (await res.json()) as { alerts: { fingerprint: string }[] };
  return body.alerts.map((a) => a.fingerprint);
}

async function incidentCount(url: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/incidents?state=all&limit=1000`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  return ((await res.json()) as { incidents: unknown[] }).incidents.length;
}

describe('serve killed with -9 mid-burst, then restarted on the same data dir', () => {
  let dir: string;
  let current: CliProcess | null = null;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hindsight-restart-'));
    await chmod(dir, 0o755); // run as root, the embedded PostgreSQL runs as `postgres` and must reach the data dir
    await writeFile(
      join(dir, 'hindsight.config.yaml'),
      'services:\n  - name: shop\n    grouping: off\n    integrations: [{ type: alertmanager, secret: "${AM_SECRET}" }]\n',
    );
  });

  afterAll(async () => {
    await current?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged alert exactly once, and a resend after the restart doubles nothing', async () => {
    const first = await startServe(dir);
    current = first.serve;
    const acknowledged: number[] = [];
    const burst = (async () => {
      for (let n = 0; n < 200; n++) {
        const reply = await fire(first.url, n).catch(() => null);
        if (reply === null) return;
        if (reply.status === 200) acknowledged.push(n);
      }
    })();
    while (acknowledged.length < 15) await new Promise((r) => setTimeout(r, 20));
    // The server itself, not the tsx wrapper that launched it (its JSON log lines carry its pid).
    const pid = Number(/"pid":(\d+)/.exec(first.serve.stderr)?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await burst;
    await new Promise<void>((resolve) => {
      if (first.serve.child.exitCode !== null || first.serve.child.signalCode !== null) resolve();
      else
        first.serve.child.once('close', () => {
          resolve();
        });
    });

    const second = await startServe(dir);
    current = second.serve;
    expect(second.serve.stderr).not.toMatch(/first start: created the admin token/);
    const kept = await firingFingerprints(second.url);
    for (const n of acknowledged) expect(kept).toContain(`fp-${n}`);
    expect(new Set(kept).size).toBe(kept.length);
    expect(await incidentCount(second.url)).toBe(kept.length);

    // Alertmanager resends what it is not sure was received: deduplicated by fingerprint.
    for (const n of acknowledged) expect((await fire(second.url, n)).status).toBe(200);
    const after = await firingFingerprints(second.url);
    expect(after.sort()).toEqual([...kept].sort());
    expect(await incidentCount(second.url)).toBe(kept.length);
    expect(await second.serve.stop()).toBe(0);
    current = null;
  });
});
