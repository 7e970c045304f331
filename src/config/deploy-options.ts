import { optionsError } from './option-problems.js';
import { NAME_PATTERN } from '../core/catalog.js';
import { collectServerClientOptions, type ServerClientOptions } from './server-options.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface DeployOptions extends ServerClientOptions {
  readonly version: string;
  readonly service: string;
  readonly commit: string | null;
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value.trim();

/**
 * `hindsight deploy VERSION`: the service from --service, else HINDSIGHT_SERVICE; the commit from
 * --commit, else what the CI names (GITHUB_SHA, CI_COMMIT_SHA of GitLab, GIT_COMMIT of Jenkins) —
 * so the one line in a pipeline needs no flags but the version. Every problem reported at once.
 */
export function parseDeployOptions(
  version: string,
  flags: {
    readonly server?: string;
    readonly token?: string;
    readonly service?: string;
    readonly commit?: string;
  },
  env: Env = process.env,
): DeployOptions {
  const problems: string[] = [];
  const client = collectServerClientOptions(flags, env, problems);
  const service = nonEmpty(flags.service) ?? nonEmpty(env.HINDSIGHT_SERVICE);
  if (service === undefined) problems.push('no service: pass --service NAME or set HINDSIGHT_SERVICE');
  else if (!NAME_PATTERN.test(service))
    problems.push(`--service must be 1–63 letters, digits, ".", "_" or "-" (got "${service}")`);
  const trimmed = version.trim();
  if (trimmed === '' || trimmed.length > 100)
    problems.push(`VERSION must be 1–100 characters (got "${version}")`);
  const commit =
    nonEmpty(flags.commit) ??
    nonEmpty(env.GITHUB_SHA) ??
    nonEmpty(env.CI_COMMIT_SHA) ??
    nonEmpty(env.GIT_COMMIT) ??
    null;
  if (commit !== null && commit.length > 64)
    problems.push(`--commit must be at most 64 characters (got ${commit.length})`);
  if (problems.length > 0 || client === null || service === undefined)
    throw optionsError('DEPLOY_BAD_OPTIONS', problems);
  return { ...client, version: trimmed, service, commit };
}
