import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminUrl } from '../support/database.js';
import { runCli } from '../support/cli-process.js';

// The exit-code contract of `hindsight race` as CI sees it: 0 clean, 1 finding, 2 bad
// input/spec/connection — each problem in one line, found before any schedule runs.
const spec = 'test/fixtures/race/opposite-order-deadlock.yaml';
const log = 'test/fixtures/race/opposite-order-deadlock.log';

describe('hindsight race exit codes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hindsight-race-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const oneLine = (stderr: string): void => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/this is a bug|\n\s+at /);
  };

  it('--junit into a directory that does not exist: exit 2, one line, nothing run', async () => {
    const r = await runCli(['race', spec, '--junit', '/nonexistent/dir/j.xml']);
    expect(r.code, r.stderr).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/--junit \/nonexistent\/dir\/j\.xml: cannot write there/);
    expect(r.stdout).toBe('');
  });

  it('--out into a directory that does not exist: exit 2 before reading the log', async () => {
    const r = await runCli(['race', '--from-log', log, '--out', '/nonexistent/dir/s.yaml']);
    expect(r.code, r.stderr).toBe(2);
    oneLine(r.stderr);
  });

  it('--out says what it wrote', async () => {
    const out = join(dir, 'from-log.yaml');
    const r = await runCli(['race', '--from-log', log, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `wrote the spec of the first deadlock in ${log} to ${out}; run it with: hindsight race ${out}`,
    );
    expect(await readFile(out, 'utf8')).toMatch(/sessions:/);
  });

  it('a bad --seed is reported before a server starts: exit 2', async () => {
    const r = await runCli(['race', spec, '--seed', 'x', '--db', 'postgres://nobody@127.0.0.1:1/none']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--seed takes a whole number/);
  });

  it('a wrong --db password: exit 2 (a connection problem is bad input), password redacted', async () => {
    const url = new URL(adminUrl());
    url.password = 'wrong-password';
    const r = await runCli(['race', spec, '--db', url.toString()]);
    expect(r.code, r.stderr).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/could not connect to .*:\*\*\*@.*\[RACE_CONNECT\]/);
    expect(r.stderr).not.toContain('wrong-password');
  });

  it('a finding: exit 1, and the JUnit report is written and announced', async () => {
    const junit = join(dir, 'j.xml');
    const r = await runCli(['race', spec, '--db', adminUrl(), '--junit', junit], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`wrote the JUnit report of 1 spec(s) to ${junit}`);
    expect(await readFile(junit, 'utf8')).toMatch(/<failure type="deadlock"/);
  });
});
