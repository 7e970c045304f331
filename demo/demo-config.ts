import { stringify } from 'yaml';
import { parseConfig } from '../src/config/config-file.js';

export interface DemoConfigInput {
  /** The shop's database, as the target watched. */
  readonly shopDbUrl: string;
  readonly shopLogFile: string;
  readonly logPrefix: string;
  /** The pager webhook's URL. */
  readonly hookUrl: string;
  /** How long nobody acknowledges before the database team is paged. */
  readonly escalateAfterMs: number;
  /** The rules' windows: short, so that the incident resolves within the demo once the fix is out. */
  readonly ruleWindowMs: number;
}

export interface DemoConfig {
  /** hindsight.config.yaml as written to the demo's directory. */
  readonly text: string;
  /** The variables its `${…}` name (passed to serve, never written to the file). */
  readonly env: Readonly<Record<string, string>>;
}

const seconds = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))}s`;

/**
 * The configuration the demo's `hindsight serve` runs with, as a user would write it: the shop's
 * database as target `shop-db` of service `shop`, rules with short windows, the on-call engineer
 * paged on the terminal and a webhook, the database team after `escalateAfterMs`, and the token
 * the shop's SDK sends events with. Checked with the same parser `serve` uses.
 */
export function buildDemoConfig(
  input: DemoConfigInput,
  secrets: { ingest: string; hook: string; alice: string; dora: string },
): DemoConfig {
  const env = {
    DEMO_INGEST_TOKEN: secrets.ingest,
    DEMO_HOOK_SECRET: secrets.hook,
    DEMO_ALICE_TOKEN: secrets.alice,
    DEMO_DORA_TOKEN: secrets.dora,
  };
  const window = seconds(input.ruleWindowMs);
  const config = {
    targets: [
      {
        name: 'shop-db',
        url: input.shopDbUrl,
        log: input.shopLogFile,
        logFormat: 'stderr',
        logPrefix: input.logPrefix,
        service: 'shop',
        interval: '1s',
      },
    ],
    services: [{ name: 'shop', grouping: { window: '10m' }, escalationPolicy: 'shop-oncall' }],
    // Every rule v2 can set off looks back `window` only: once the fix is out, each resolves within it.
    rules: {
      deadlocks: { window },
      error_rate: { window },
      lock_wait_storm: { window },
      blocking: { window },
      // The deadlocks' rollbacks are a spike too (it joins the same incident).
      rollback_ratio: { window },
      // The demo's database shares its host with the load and with serve: its CPU is not the story.
      host_cpu: { enabled: false },
    },
    tokens: [
      { name: 'shop-app', secret: '${DEMO_INGEST_TOKEN}', role: 'ingest' },
      // The people of the story write notes as themselves.
      { name: 'alice', secret: '${DEMO_ALICE_TOKEN}', role: 'responder' },
      { name: 'dora', secret: '${DEMO_DORA_TOKEN}', role: 'responder' },
    ],
    users: [
      { name: 'alice', contacts: ['terminal', 'pager'] },
      { name: 'dora', contacts: ['terminal', 'pager'] },
      { name: 'dan', contacts: ['terminal', 'pager'] },
    ],
    teams: [{ name: 'database', members: ['dora', 'dan'] }],
    schedules: [
      {
        name: 'shop-primary',
        timeZone: 'UTC',
        rotation: { every: 'week', handoff: 'Mon 09:00', users: ['alice'] },
      },
    ],
    channels: [
      { name: 'terminal', type: 'console' },
      { name: 'pager', type: 'webhook', url: input.hookUrl, secret: '${DEMO_HOOK_SECRET}' },
    ],
    escalationPolicies: [
      {
        name: 'shop-oncall',
        steps: [
          { after: '0s', notify: ['schedule:shop-primary'] },
          { after: seconds(input.escalateAfterMs), notify: ['team:database'] },
        ],
      },
    ],
  };
  const header =
    '# Written by `hindsight demo`: the shop database watched as target shop-db of service shop,\n' +
    '# short rule windows so that the incident resolves within the demo, alice on call, then the database team.\n';
  const text = header + stringify(config, { lineWidth: 0 });
  const checked = parseConfig(text, { env });
  if (!checked.ok) {
    throw new Error(
      `the demo's configuration does not pass \`hindsight config check\`: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
  }
  return { text, env };
}
