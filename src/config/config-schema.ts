import { parseLogTimezone } from '../postgres-log/log-timezone.js';
import { NAME_PATTERN } from '../core/catalog.js';
import { LOG_FORMATS } from '../core/log-event.js';
import { z } from 'zod';
import type { Severity } from '../core/alert.js';
import type { Grouping, IntegrationType, Role, RuleOverride } from '../core/catalog.js';
import { tierProblems, type MetricsTier } from '../core/metrics-downsampling.js';
import { duration } from './duration.js';
import { pagingFields, pagingReferenceProblems, type PagingConfig } from './paging-schema.js';
import { redactUrl } from '../core/url-redaction.js';
import { resolveConnInfo } from './postgres-conninfo.js';

/**
 * The one schema of `hindsight.config.yaml` (or `.json`): targets to watch, the services they belong
 * to, overrides of the built-in rules, API tokens, and the server's own settings. Objects are strict:
 * an unknown key is an error, so a typo is never silently ignored. The paging sections (users,
 * teams, schedules, channels, escalationPolicies) are defined in paging-schema.ts.
 */

const name = z
  .string()
  .regex(NAME_PATTERN, 'a name is 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit');

const postgresUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `"${redactUrl(value)}" is not a URL; expected postgres://user:password@host:5432/database`,
    });
    return;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    ctx.addIssue({
      code: 'custom',
      message: `the URL must start with postgres:// (got "${redactUrl(value)}")`,
    });
  } else if (!url.hostname && !url.searchParams.get('host')) {
    ctx.addIssue({
      code: 'custom',
      message: 'the URL names no host; expected postgres://user:password@host:5432/database',
    });
  }
});

/**
 * A target's connection string, read as `hindsight watch` (and psql) reads it: a Unix-socket
 * directory as `?host=` or as a %-encoded host, no host at all (`postgres:///shop`: PGHOST, else
 * the local socket). What it leaves out comes from the `PG*` variables when the target is watched
 * (configured-target.ts), not here: the file is checked the same whatever the environment.
 */
const NO_ENVIRONMENT = { passfile: '', osUser: 'postgres' } as const;
const targetUrl = z.string().superRefine((value, ctx) => {
  const resolved = resolveConnInfo(value, NO_ENVIRONMENT);
  if (!resolved.ok) ctx.addIssue({ code: 'custom', message: resolved.problem });
});

/**
 * A secret someone chose (an API token, what Alertmanager or a PagerDuty sender presents): never
 * empty — an unset variable must not let anyone in — but its length is the chooser's call, as the
 * token service decides (the docs recommend `openssl rand -base64 32`).
 */
const secret = z.string().refine((v) => v.trim() !== '', 'the secret must not be empty');

const severity = z.enum(['critical', 'error', 'warning', 'info'] satisfies readonly Severity[], {
  error: 'severity must be critical, error, warning or info',
});

const ruleOverride = z
  .strictObject({
    enabled: z.boolean().optional(),
    threshold: z.number().nonnegative().optional(),
    resolveThreshold: z.number().nonnegative().optional(),
    window: duration.optional(),
    for: duration.optional(),
    severity: severity.optional(),
  })
  .transform((r): RuleOverride => ({
    ...(r.enabled === undefined ? {} : { enabled: r.enabled }),
    ...(r.threshold === undefined ? {} : { threshold: r.threshold }),
    ...(r.resolveThreshold === undefined ? {} : { resolveThreshold: r.resolveThreshold }),
    ...(r.window === undefined ? {} : { windowMs: r.window }),
    ...(r.for === undefined ? {} : { forMs: r.for }),
    ...(r.severity === undefined ? {} : { severity: r.severity }),
  }))
  .refine(
    (r) => r.threshold === undefined || r.resolveThreshold === undefined || r.resolveThreshold <= r.threshold,
    {
      message:
        'resolveThreshold must not be above threshold (it is the lower level at which the alert resolves)',
    },
  );

const rules = z.record(z.string(), ruleOverride).default({});

const grouping = z
  .union(
    [
      z.literal('off'),
      z.literal(false),
      z.strictObject({ window: duration.default(600_000), by: z.array(z.string().min(1)).default([]) }),
    ],
    { error: 'grouping is off, or { window: 10m, by: [label, …] }' },
  )
  .default({ window: 600_000, by: [] })
  .transform((g): Grouping =>
    g === 'off' || g === false ? { kind: 'off' } : { kind: 'window', windowMs: g.window, by: g.by },
  );

const integration = z.strictObject({
  type: z.enum(['alertmanager', 'pagerduty'] satisfies readonly IntegrationType[], {
    error: 'integration type must be alertmanager or pagerduty',
  }),
  secret,
});

const service = z.strictObject({
  name,
  integrations: z.array(integration).default([]),
  grouping,
  rules,
  /** Which escalation policy pages for it (paging issue). */
  escalationPolicy: z.string().min(1).optional(),
});

const target = z.strictObject({
  name,
  url: targetUrl,
  /** The server log (file or log_directory) to follow for deadlock reports. */
  log: z
    .string()
    .min(1)
    .refine((path) => path !== '-', {
      error:
        "log: '-' (standard input) is for `hindsight watch --log -`; here give the log file or log_directory",
    })
    .optional(),
  logFormat: z
    .enum(['auto', ...LOG_FORMATS], { error: `logFormat must be one of auto, ${LOG_FORMATS.join(', ')}` })
    .default('auto'),
  logPrefix: z.string().optional(),
  /** The server's log_timezone, when the agent cannot read it from the server (IST, CST are ambiguous). */
  logTimezone: z
    .string()
    .transform((text, ctx) => {
      const parsed = parseLogTimezone(text);
      if ('zone' in parsed) return parsed.zone;
      ctx.addIssue({ code: 'custom', message: parsed.error.replace('--log-timezone', 'logTimezone') });
      return z.NEVER;
    })
    .optional(),
  /** Absent: the target forms a service of its own name, with the defaults. */
  service: name.optional(),
  interval: duration
    .default(1000)
    .refine((ms) => ms >= 100 && ms <= 60_000, 'interval must be between 100ms and 60s'),
  thresholds: z
    .strictObject({
      blocking: duration.default(1000),
      idleInTransaction: duration.default(30_000),
      longTransaction: duration.default(300_000),
    })
    .default({ blocking: 1000, idleInTransaction: 30_000, longTransaction: 300_000 }),
  rawQueries: z.boolean().default(false),
  rules,
});

const token = z.strictObject({
  name,
  secret,
  role: z.enum(['viewer', 'responder', 'admin', 'ingest'] satisfies readonly Role[], {
    error: 'role must be viewer, responder, admin or ingest',
  }),
});

const server = z.strictObject({
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65_535).optional(),
  /** A postgres:// URL of a team's server; absent: the embedded store in dataDir. */
  store: postgresUrl.optional(),
  dataDir: z.string().min(1).optional(),
  /** Where people reach the server (behind a proxy): the links in pages use it. */
  publicUrl: z.string().min(1).optional(),
});

export interface SchemaOptions {
  /** An agent's file names services the server declares: the reference is not checked. */
  readonly agent?: boolean;
  /** The built-in rules (core's RULE_NAMES unless given); an override of any other name is an error (a typo). */
  readonly ruleNames?: readonly string[];
}

/**
 * `metrics: { retention: [{ resolution: 10s, keep: 1d }, { resolution: 1m, keep: 30d, statements: 20 }, …] }`:
 * the downsampling tiers of database metrics (default 10 s a day, 1 min 30 days, 1 h a year) and
 * how many top statements each keeps per interval (statements are kept from 1 min up).
 */
const metrics = z
  .strictObject({
    retention: z
      .array(
        z.strictObject({
          resolution: duration,
          keep: duration,
          /** Top statements kept per interval at this resolution (default 20; 0: none). */
          statements: z.number().int().min(0).max(500).optional(),
        }),
      )
      .min(1)
      .max(6),
  })
  .superRefine((m, ctx) => {
    for (const problem of tierProblems(
      m.retention.map((r) => ({ resolutionMs: r.resolution, keepMs: r.keep })),
    )) {
      ctx.addIssue({ code: 'custom', path: ['retention'], message: problem });
    }
  });

const fields = {
  server: server.default({}),
  targets: z.array(target).default([]),
  services: z.array(service).default([]),
  rules,
  tokens: z.array(token).default([]),
  metrics: metrics.optional(),
  ...pagingFields,
};

/** The schema of the file's shapes; `crossReferenceProblems` checks names across sections. */
export const buildConfigSchema = () => z.strictObject(fields);

type Loose = Readonly<Record<string, unknown>>;
const list = (value: unknown): Loose[] =>
  Array.isArray(value) ? value.filter((v): v is Loose => typeof v === 'object' && v !== null) : [];
const record = (value: unknown): Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Loose) : {};

/**
 * Unique names, known services and rules: read loosely, so that they are reported together with
 * every other problem (zod skips refinements of an object that already has issues).
 */
export function crossReferenceProblems(
  input: unknown,
  options: SchemaOptions,
): { path: (string | number)[]; message: string }[] {
  const config = record(input);
  const problems: { path: (string | number)[]; message: string }[] = [];
  for (const key of ['targets', 'services', 'tokens'] as const) {
    const seen = new Set<string>();
    list(config[key]).forEach((item, index) => {
      if (typeof item.name !== 'string') return;
      if (seen.has(item.name))
        problems.push({
          path: [key, index, 'name'],
          message: `"${item.name}" is declared twice in ${key}; names must be unique`,
        });
      seen.add(item.name);
    });
  }
  const known = options.ruleNames;
  if (known !== undefined) {
    const check = (overrides: unknown, path: readonly (string | number)[]): void => {
      for (const rule of Object.keys(record(overrides))) {
        if (!known.includes(rule))
          problems.push({
            path: [...path, rule],
            message: `unknown rule "${rule}"; the built-in rules are ${known.join(', ')}`,
          });
      }
    };
    check(config.rules, ['rules']);
    list(config.services).forEach((s, i) => {
      check(s.rules, ['services', i, 'rules']);
    });
    list(config.targets).forEach((t, i) => {
      check(t.rules, ['targets', i, 'rules']);
    });
  }
  if (options.agent === true) return problems;
  problems.push(...pagingReferenceProblems(config));
  const services = new Set(
    list(config.services).flatMap((s) => (typeof s.name === 'string' ? [s.name] : [])),
  );
  list(config.targets).forEach((t, index) => {
    if (typeof t.service === 'string' && !services.has(t.service)) {
      const declared =
        services.size === 0 ? 'no services are declared' : `declared: ${[...services].join(', ')}`;
      problems.push({
        path: ['targets', index, 'service'],
        message: `unknown service "${t.service}" (${declared}); add it under services:`,
      });
    }
  });
  return problems;
}

export const configSchema = buildConfigSchema();

export type ConfigInput = z.input<typeof configSchema>;
type Parsed = z.output<typeof configSchema>;

export type TargetConfig = Omit<Parsed['targets'][number], 'service'> & { readonly service: string };
export type ServiceConfig = Parsed['services'][number];
export type TokenConfig = Parsed['tokens'][number];

/** The configuration after validation; secrets are still in the clear (hash or redact them). */
export interface HindsightConfig {
  readonly server: Parsed['server'];
  readonly targets: readonly TargetConfig[];
  /** Declared services, plus one of its own for each target that names none. */
  readonly services: readonly ServiceConfig[];
  /** Overrides of the built-in rules for every target. */
  readonly rules: Readonly<Record<string, RuleOverride>>;
  readonly tokens: readonly TokenConfig[];
  /** Sections present in the file that this version does not act on yet (none since paging). */
  readonly notYetApplied: readonly string[];
  /** Users, teams, schedules, channels and escalation policies. */
  readonly paging: PagingConfig;
  /** Downsampling tiers of database metrics; absent: the defaults (core/metrics-downsampling.ts). */
  readonly metrics?: { readonly tiers: readonly MetricsTier[] };
}
