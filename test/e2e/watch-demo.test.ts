import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/core/finding.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

// `npm run demo:watch`: `hindsight watch` live on a throwaway PostgreSQL with lock trouble (README).
describe('npm run demo:watch', () => {
  it('catches the blocking chain with its idle-in-transaction root and the deadlock, then cleans up', async () => {
    const child = spawn('npm', ['run', 'demo:watch', '--silent', '--', '--json', '--seconds', '25'], {
      cwd: root,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);

    const findings = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Finding);
    const deadlock = findings.find((f) => f.kind === 'deadlock' && f.processes.length === 2);
    expect(deadlock, stdout).toBeDefined();
    const episode = findings.find((f) => f.kind === 'blocking_episode');
    expect(episode?.kind === 'blocking_episode' && episode.roots[0]?.state).toBe('idle in transaction');
    expect(episode?.kind === 'blocking_episode' && episode.roots[0]?.application).toBe('shop-checkout');
    expect(stderr).toContain('throwaway PostgreSQL removed');
  }, 60_000);
});
