import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** `hindsight demo ARGS` as one process (Node with tsx's loader, so a signal reaches the demo itself). */
function demo(args: readonly string[], interruptWhen?: (output: string) => boolean): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin.ts', 'demo', ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  const look = (): void => {
    if (!interrupted && interruptWhen?.(stdout + stderr) === true) {
      interrupted = true;
      child.kill('SIGINT');
    }
  };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    look();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    look();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    }),
  );
}

/** Processes whose command line names `dir` (a PostgreSQL or serve left behind). */
const processesUsing = (dir: string): string[] =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return cmd.includes(dir) ? [`${pid}: ${cmd}`] : [];
      } catch {
        return []; // gone meanwhile
      }
    });

interface Detail {
  incident: { summary: string; state: string; resolvedAt: number | null };
  timeline: { kind: string; text: string; at: number; deadEnd: boolean }[];
  impact?: { share: number } | null;
  onsetDeploy?: { version: string } | null;
}

// The "Done means" for the demo: `hindsight demo --ci --json` as the end-to-end test.
describe('hindsight demo (the seed replayed; what `npm start` runs)', () => {
  it('--ci --json: one incident naming both statements and call sites, deploy v2 as onset, 20–40% of users, escalated to the database team, resolved after the fix — under 90 s', async () => {
    const run = await demo(['--ci', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines, 'stdout holds the one JSON object').toHaveLength(1);
    const detail = JSON.parse(lines[0] ?? '') as Detail;
    const { summary } = detail.incident;
    // Both sides of the deadlock: each statement with the line of code that ran it (sqlcommenter tags).
    expect(summary).toMatch(/POST \/checkout \(demo\/shop\/checkout\.ts:\d+: `UPDATE products …`\)/);
    expect(summary).toMatch(/job restock \(demo\/shop\/restock-job\.ts:\d+: `INSERT INTO inventory …`\)/);
    expect(detail.onsetDeploy?.version).toBe('v2');
    expect(detail.impact?.share).toBeGreaterThanOrEqual(0.2);
    expect(detail.impact?.share).toBeLessThanOrEqual(0.4);
    expect(detail.timeline.some((e) => e.kind === 'escalated' && e.text.includes('team:database'))).toBe(
      true,
    );
    expect(detail.timeline.some((e) => e.kind === 'note' && e.deadEnd && /slow queries/i.test(e.text))).toBe(
      true,
    );
    expect(detail.incident.state).toBe('resolved');
    const fix = detail.timeline.find((e) => e.kind === 'deploy' && e.text.includes('v2.1'));
    expect(fix, 'the fix deploy on the timeline').toBeDefined();
    expect(detail.incident.resolvedAt).toBeGreaterThan(fix?.at ?? Infinity);
    // The narration went to stderr, and everything it created is gone.
    const dir = /everything lives in (\S+);/.exec(run.stderr)?.[1] ?? '';
    expect(dir).toMatch(/hindsight-demo-/);
    expect(existsSync(dir)).toBe(false);
    expect(processesUsing(dir)).toEqual([]);
    expect(run.ms, `the demo took ${Math.round(run.ms / 1000)} s`).toBeLessThan(90_000);
  }, 180_000);

  it('Ctrl-C stops everything and removes what it created', async () => {
    const run = await demo(['--users', '50'], (output) => output.includes('the shop, release v1, serves'));
    expect(run.code, run.stdout + run.stderr).toBe(130);
    const dir = /everything lives in (\S+);/.exec(run.stdout)?.[1] ?? '';
    expect(dir).toMatch(/hindsight-demo-/);
    expect(run.stdout).toContain(`removed ${dir}`);
    expect(existsSync(dir)).toBe(false);
    expect(processesUsing(dir)).toEqual([]);
  }, 120_000);
});
