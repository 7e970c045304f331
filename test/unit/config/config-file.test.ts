import { describe, expect, it } from 'vitest';
import { describeProblem, loadConfigFile, parseConfig } from '../../../src/config/config-file.js';
import { parseDuration } from '../../../src/config/duration.js';
import { sameDatabase } from '../../../src/config/postgres-url.js';
import { renderConfigSummary } from '../../../src/cli/config-summary.js';

const env = {
  PGPASSWORD: 'pg-pass-word',
  AM_SECRET: 'am-secret-0123456789',
  PD_ROUTING_KEY: 'pd-routing-key-0123456789abcdef',
  HINDSIGHT_CI_TOKEN: 'ci-token-0123456789abcdef',
};
const fixture = (name: string): string => new URL(`../../fixtures/config/${name}`, import.meta.url).pathname;

function problems(
  text: string,
  options: { env?: Record<string, string>; agent?: boolean; ruleNames?: string[] } = {},
): string[] {
  const result = parseConfig(text, {
    env: options.env ?? env,
    ...(options.agent ? { agent: true } : {}),
    ...(options.ruleNames ? { ruleNames: options.ruleNames } : {}),
  });
  return result.ok ? [] : result.problems.map(describeProblem);
}

describe('configuration file', () => {
  it("reads the issue's example with grouping, overrides and durations", async () => {
    const result = await loadConfigFile(fixture('shop.yaml'), { env });
    if (!result.ok) throw new Error(result.problems.map(describeProblem).join('\n'));
    const { config } = result;
    expect(config.targets[0]).toMatchObject({
      name: 'shop-db',
      url: 'postgres://monitor:pg-pass-word@db.internal:5432/shop',
      service: 'shop',
      interval: 2000,
      thresholds: { blocking: 5000, idleInTransaction: 30_000, longTransaction: 300_000 },
      rules: { deadlocks: { threshold: 3, windowMs: 300_000 } },
    });
    expect(config.services.map((s) => [s.name, s.grouping])).toEqual([
      ['shop', { kind: 'window', windowMs: 900_000, by: ['alertname'] }],
      ['billing', { kind: 'off' }],
    ]);
    expect(config.services[0]?.integrations).toEqual([
      { type: 'alertmanager', secret: env.AM_SECRET },
      { type: 'pagerduty', secret: env.PD_ROUTING_KEY },
    ]);
    expect(config.rules).toEqual({ blocking: { threshold: 10, forMs: 30_000, severity: 'critical' } });
    expect(config.tokens).toEqual([{ name: 'ci', secret: env.HINDSIGHT_CI_TOKEN, role: 'admin' }]);
    expect(config.paging.escalationPolicies.map((p) => p.name)).toEqual(['shop-oncall']);
  });

  it('reports every problem at once, each with its path', async () => {
    const result = await loadConfigFile(fixture('broken.yaml'), { env });
    expect(result.ok).toBe(false);
    const lines = result.ok ? [] : result.problems.map(describeProblem);
    expect(lines).toEqual([
      expect.stringMatching(/^services\[0\]\.grouping: /),
      expect.stringMatching(/^services\[0\]\.integrations\[0\]\.type: .*alertmanager or pagerduty/),
      'targets[0].intervall: unknown key (check its spelling)',
      'targets[0].service: unknown service "shopp" (declared: shop); add it under services:',
      expect.stringMatching(/^targets\[0\]\.url: the URL must start with postgres:\/\//),
      expect.stringMatching(/^targets\[1\]\.interval: "10" is not a duration/),
      'targets[1].name: "shop-db" is declared twice in targets; names must be unique',
      expect.stringMatching(/^tokens\[0\]\.role: /),
      'tokens[0].secret: the secret must not be empty',
    ]);
    expect(lines.join('\n')).not.toContain(env.PGPASSWORD);
  });

  it('names a missing variable and where it is used, once, and keeps $${…} literal', () => {
    const text =
      'tokens:\n  - { name: ci, secret: "${NOPE_TOKEN}", role: admin }\ntargets:\n  - { name: a, url: "postgres://m:$${NOT_A_VAR}@h/db" }\n';
    expect(problems(text)).toEqual([
      'tokens[0].secret: environment variable NOPE_TOKEN is not set (referenced as ${NOPE_TOKEN}); set it, or write $${NOPE_TOKEN} for a literal',
    ]);
    const ok = parseConfig(text, { env: { NOPE_TOKEN: 'x'.repeat(20) } });
    expect(ok.ok && ok.config.targets[0]?.url).toBe('postgres://m:${NOT_A_VAR}@h/db');
  });

  it('gives a target without a service a service of its own name, and checks names across sections', () => {
    const ok = parseConfig('targets:\n  - { name: solo, url: "postgres://m@h/db" }\n', { env: {} });
    expect(ok.ok && ok.config.services.map((s) => s.name)).toEqual(['solo']);
    expect(
      problems(
        'services:\n  - { name: a }\n  - { name: a }\ntokens:\n  - { name: t, secret: "0123456789abcdef", role: viewer }\n  - { name: t, secret: "0123456789abcdef", role: viewer }\n',
      ),
    ).toEqual([
      'services[1].name: "a" is declared twice in services; names must be unique',
      'tokens[1].name: "t" is declared twice in tokens; names must be unique',
    ]);
  });

  it("lets an agent's file name services the server declares", () => {
    const text = 'targets:\n  - { name: a, url: "postgres://m@h/db", service: shop }\n';
    expect(problems(text)).toHaveLength(1);
    expect(problems(text, { agent: true })).toEqual([]);
  });

  it('rejects an override of an unknown rule when the built-in rules are known, and a resolve level above the threshold', () => {
    expect(
      problems('rules:\n  deadlock: { threshold: 1 }\n  blocking: { threshold: 2, resolveThreshold: 5 }\n', {
        ruleNames: ['deadlocks', 'blocking'],
      }),
    ).toEqual([
      'rules.blocking: resolveThreshold must not be above threshold (it is the lower level at which the alert resolves)',
      'rules.deadlock: unknown rule "deadlock"; the built-in rules are deadlocks, blocking',
    ]);
  });

  it('knows the error_rate rule (issue 10) beside the target rules', () => {
    expect(problems('rules:\n  error_rate: { threshold: 0.2, window: 2m }\n')).toEqual([]);
    expect(problems('rules:\n  error_rates: { threshold: 0.2 }\n')[0]).toMatch(
      /^rules\.error_rates: unknown rule "error_rates"; the built-in rules are .*error_rate, .*statement_latency$/,
    );
  });

  it('knows the database metric rules (issue 12), overridable per service and target', () => {
    expect(
      problems(
        [
          'rules:',
          '  connections_near_max: { threshold: 0.8, for: 30s }',
          '  statement_latency: { threshold: 5, severity: error }',
          'services:',
          '  - name: shop',
          '    rules: { rollback_ratio: { enabled: false }, active_sessions: { window: 2m } }',
          'targets:',
          '  - name: shop-db',
          '    url: postgres://h/db',
          '    service: shop',
          '    rules: { host_cpu: { threshold: 0.95 } }',
          '',
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  it('accepts the paging sections, and rejects other top-level keys', () => {
    const ok = parseConfig('users: [{ name: ann }]\nteams: []\nschedules: []\nchannels: []\n', { env: {} });
    expect(ok.ok && ok.config.paging.users.map((u) => u.name)).toEqual(['ann']);
    expect(problems('target:\n  - { name: a }\n')).toEqual(['target: unknown key (check its spelling)']);
  });

  it('reads JSON files strictly and reports YAML syntax errors with their line', async () => {
    expect(problems('targets:\n  - name: a\n   url: x\n')[0]).toMatch(/^line \d+: /);
    const missing = await loadConfigFile('/nonexistent/hindsight.config.json');
    expect(missing.ok ? [] : missing.problems.map(describeProblem)).toEqual([
      'cannot read /nonexistent/hindsight.config.json: no such file',
    ]);
    expect(parseConfig('{"targets": []}', { env: {}, json: true }).ok).toBe(true);
    expect(problems('{targets: []', { env: {} }).length).toBeGreaterThan(0);
  });

  it('prints what it found with every secret redacted', async () => {
    const result = await loadConfigFile(fixture('shop.yaml'), { env });
    if (!result.ok) throw new Error('fixture should load');
    const text = renderConfigSummary('shop.yaml', result.config);
    expect(text).toContain('shop.yaml: 1 target, 2 services, 1 token');
    expect(text).toContain('postgres://monitor:***@db.internal:5432/shop');
    expect(text).toContain('deadlocks (target shop-db): threshold 3, window 5m');
    expect(text).toContain('shop  grouping 15m by alertname');
    for (const secret of Object.values(env)) expect(text).not.toContain(secret);
  });
});

describe('durations and database identity', () => {
  it('takes target URLs as psql does: a socket directory (?host= or %-encoded), no host; says what is wrong with the others', () => {
    const urls = (list: string[]) =>
      `targets:\n${list.map((url, i) => `  - { name: t${i}, url: "${url}" }`).join('\n')}\n`;
    expect(
      problems(
        urls([
          'postgresql://monitor@/shop?host=/var/run/postgresql',
          'postgres:///shop',
          'postgres://%2Ftmp/shop',
          'postgres://m:p@db:5433/shop?sslmode=require',
        ]),
      ),
    ).toEqual([]);
    expect(
      problems(urls(['postgres://db:99999/shop', 'postgres://a,b/shop', 'not a url', 'mysql://db/x'])),
    ).toEqual([
      'targets[0].url: the port "99999" is not a port number',
      'targets[1].url: several hosts in one URL are not supported; give one',
      expect.stringMatching(
        /^targets\[2\]\.url: "not a url" is not a PostgreSQL URL; expected postgres:\/\//,
      ),
      expect.stringMatching(/^targets\[3\]\.url: the URL must start with postgres:\/\//),
    ]);
  });

  it('parses durations with their units and rejects bare numbers', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10')).toBeNull();
    expect(parseDuration('5 min')).toBeNull();
  });

  it('knows two URLs name one database whatever their users, passwords and loopback spelling', () => {
    expect(sameDatabase('postgres://a:x@localhost:5432/shop', 'postgresql://b@127.0.0.1/shop')).toBe(true);
    expect(sameDatabase('postgres://a@db:5432/shop', 'postgres://a@db:5433/shop')).toBe(false);
    expect(sameDatabase('postgres://a@db/shop', 'postgres://a@db/hindsight')).toBe(false);
    expect(sameDatabase('postgres://shop@db', 'postgres://x@db/shop')).toBe(true);
    // Socket URLs as psql takes them: ?host= and a %-encoded host name the same socket directory.
    expect(
      sameDatabase(
        'postgresql://u@/shop?host=/var/run/postgresql',
        'postgres://v@%2Fvar%2Frun%2Fpostgresql/shop',
      ),
    ).toBe(true);
    expect(sameDatabase('postgresql://u@/shop?host=/var/run/postgresql', 'postgres://u@localhost/shop')).toBe(
      false,
    );
  });
});
