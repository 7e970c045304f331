import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { RULE_NAMES } from '../core/alert-rule.js';
import { DEFAULT_GROUPING } from '../core/catalog.js';
import { ERROR_RATE_RULE } from '../core/error-rate-rule.js';
import { METRIC_RULE_NAMES } from '../core/metric-rules.js';
import { userError, type HindsightError } from '../core/errors.js';
import {
  buildConfigSchema,
  crossReferenceProblems,
  type HindsightConfig,
  type SchemaOptions,
  type ServiceConfig,
} from './config-schema.js';
import { formatPath, interpolate, type ConfigProblem } from './interpolate.js';

/** Where `serve` and `agent` look when no --config is given and HINDSIGHT_CONFIG is unset. */
export const DEFAULT_CONFIG_FILES = [
  'hindsight.config.yaml',
  'hindsight.config.yml',
  'hindsight.config.json',
] as const;

export type ConfigResult =
  | { readonly ok: true; readonly config: HindsightConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/**
 * Parses a configuration file's text: YAML (JSON is YAML too; `.json` files are parsed strictly as
 * JSON), then `${VAR}` interpolation from `env`, then the schema. Every problem is returned at once,
 * each with its path (`targets[0].url`); none prints a secret.
 */
export function parseConfig(
  text: string,
  options: SchemaOptions & {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly json?: boolean;
  },
): ConfigResult {
  const problems: ConfigProblem[] = [];
  let raw: unknown;
  if (options.json === true) {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      return {
        ok: false,
        problems: [
          { path: '', message: `not valid JSON: ${error instanceof Error ? error.message : String(error)}` },
        ],
      };
    }
  } else {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      return {
        ok: false,
        problems: doc.errors.map((e) => ({
          path: e.linePos ? `line ${e.linePos[0].line}` : '',
          message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
        })),
      };
    }
    raw = doc.toJS();
  }
  raw ??= {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      ok: false,
      problems: [
        { path: '', message: 'the configuration must be a mapping (targets:, services:, rules:, tokens:)' },
      ],
    };
  }
  const interpolated = interpolate(raw, options.env, problems);
  const parsed = buildConfigSchema().safeParse(interpolated);
  // A value whose variable is missing is reported once, for the variable, not again for its shape.
  const unresolved = new Set(problems.map((p) => p.path));
  if (!parsed.success) problems.push(...zodProblems(parsed.error).filter((p) => !unresolved.has(p.path)));
  problems.push(
    ...crossReferenceProblems(interpolated, {
      ruleNames: [...RULE_NAMES, ERROR_RATE_RULE, ...METRIC_RULE_NAMES],
      ...options,
    }).map((p) => ({
      path: formatPath(p.path),
      message: p.message,
    })),
  );
  if (problems.length > 0 || !parsed.success) return { ok: false, problems: sortProblems(problems) };

  const c = parsed.data;
  const implied: ServiceConfig[] = c.targets
    .filter((t) => t.service === undefined)
    .map((t) => ({
      name: t.name,
      integrations: [],
      grouping: DEFAULT_GROUPING,
      rules: {},
    }));
  return {
    ok: true,
    config: {
      server: c.server,
      targets: c.targets.map((t) => ({ ...t, service: t.service ?? t.name })),
      services: [...c.services, ...implied.filter((s) => !c.services.some((d) => d.name === s.name))],
      rules: c.rules,
      tokens: c.tokens,
      notYetApplied: [],
      ...(c.metrics === undefined
        ? {}
        : {
            metrics: {
              tiers: c.metrics.retention.map((r) => ({
                resolutionMs: r.resolution,
                keepMs: r.keep,
                ...(r.statements === undefined ? {} : { topStatements: r.statements }),
              })),
            },
          }),
      paging: {
        users: c.users,
        teams: c.teams,
        schedules: c.schedules,
        channels: c.channels,
        escalationPolicies: c.escalationPolicies,
      },
    },
  };
}

/** Reads and parses `path`; a missing or unreadable file is a problem like the others. */
export async function loadConfigFile(
  path: string,
  options: SchemaOptions & { readonly env?: Readonly<Record<string, string | undefined>> } = {},
): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : error instanceof Error
            ? error.message
            : String(error);
    return { ok: false, problems: [{ path: '', message: `cannot read ${path}: ${message}` }] };
  }
  return parseConfig(text, {
    ...options,
    env: options.env ?? process.env,
    json: extname(path).toLowerCase() === '.json',
  });
}

/** Loads `path` or throws one user error listing every problem (for serve and agent). */
export async function loadConfigOrThrow(
  path: string,
  options: SchemaOptions & { readonly env?: Readonly<Record<string, string | undefined>> } = {},
): Promise<HindsightConfig> {
  const result = await loadConfigFile(path, options);
  if (!result.ok) throw configError(path, result.problems);
  return result.config;
}

export function configError(path: string, problems: readonly ConfigProblem[]): HindsightError {
  return userError(
    'CONFIG_INVALID',
    `${path} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n${problems.map((p) => `  - ${describeProblem(p)}`).join('\n')}`,
  );
}

export const describeProblem = (p: ConfigProblem): string =>
  p.path === '' ? p.message : `${p.path}: ${p.message}`;

function zodProblems(error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue): ConfigProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        message: 'unknown key (check its spelling)',
      }));
    }
    if (issue.code === 'invalid_union' && issue.message.startsWith('Invalid input')) {
      return [{ path: formatPath(issue.path), message: 'not one of the accepted forms' }];
    }
    return [{ path: formatPath(issue.path), message: issue.message }];
  });
}

/** In document order of their paths, which reads like the file. */
function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}
