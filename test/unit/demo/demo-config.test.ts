import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/config-file.js';
import { buildDemoConfig } from '../../../demo/demo-config.js';

const input = {
  shopDbUrl: 'postgres://postgres:postgres@127.0.0.1:5433/shop',
  shopLogFile: '/tmp/hindsight-demo-x/shop-db/server.log',
  logPrefix: '%m [%p] %q%u@%d ',
  hookUrl: 'http://127.0.0.1:4000/page',
  escalateAfterMs: 6000,
  ruleWindowMs: 15_000,
};
const secrets = {
  ingest: 'ingest-secret-0123456789',
  hook: 'hook-secret-0123456789',
  alice: 'alice-secret-0123',
  dora: 'dora-secret-0123',
};

describe("the demo's generated hindsight.config.yaml", () => {
  it('passes the parser serve uses: shop-db in service shop, short rule windows, alice then the database team, an ingest token', () => {
    const { text, env } = buildDemoConfig(input, secrets);
    const parsed = parseConfig(text, { env });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const { config } = parsed;
    expect(config.targets.map((t) => [t.name, t.service, t.log])).toEqual([
      ['shop-db', 'shop', input.shopLogFile],
    ]);
    for (const rule of ['deadlocks', 'error_rate', 'lock_wait_storm', 'blocking'])
      expect(config.rules[rule]?.windowMs).toBe(15_000);
    expect(
      config.paging.escalationPolicies[0]?.steps.map((s) => [
        s.afterMs,
        s.targets.map((t) => `${t.kind}:${t.name}`),
      ]),
    ).toEqual([
      [0, ['schedule:shop-primary']],
      [6000, ['team:database']],
    ]);
    expect(config.tokens.map((t) => [t.name, t.role])).toEqual([
      ['shop-app', 'ingest'],
      ['alice', 'responder'],
      ['dora', 'responder'],
    ]);
  });

  it('keeps secrets out of the file: they come from the environment', () => {
    const { text, env } = buildDemoConfig(input, secrets);
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
    expect(Object.values(env).sort()).toEqual(Object.values(secrets).sort());
    expect((parse(text) as { tokens: { secret: string }[] }).tokens[0]?.secret).toBe('${DEMO_INGEST_TOKEN}');
  });
});
