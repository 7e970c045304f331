import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli-process.js';

const env = {
  PGPASSWORD: 'pg-pass-word',
  AM_SECRET: 'am-secret-0123456789',
  PD_ROUTING_KEY: 'pd-routing-key-0123456789abcdef',
  HINDSIGHT_CI_TOKEN: 'ci-token-0123456789abcdef',
};

describe('hindsight config check', () => {
  it('prints what the file declares with secrets redacted, exit 0', async () => {
    const result = await runCli(['config', 'check', 'test/fixtures/config/shop.yaml'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('test/fixtures/config/shop.yaml: 1 target, 2 services, 1 token');
    expect(result.stdout).toContain('rules overridden:');
    for (const secret of Object.values(env)) expect(result.stdout + result.stderr).not.toContain(secret);
  });

  it('prints every problem with its path on stderr, exit 2', async () => {
    const result = await runCli(['config', 'check', 'test/fixtures/config/broken.yaml'], { env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('hindsight: test/fixtures/config/broken.yaml has 9 problems:');
    expect(lines).toContain('  - targets[0].intervall: unknown key (check its spelling)');
    expect(lines.at(-1)).toMatch(/ \[CONFIG_INVALID\]$/);
  });
});
