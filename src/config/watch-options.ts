import { z } from 'zod';
import { userError, type HindsightError } from '../core/errors.js';

/** `hindsight watch` options after validation: flags first, then environment, then defaults. */
export interface WatchOptions {
  readonly url: string;
  /** Display name of the target; host/database by default (never the password). */
  readonly name: string;
  readonly logPath: string | null;
  readonly logPrefix: string | null;
  readonly logFormat: 'auto' | 'stderr' | 'csvlog' | 'jsonlog';
  readonly fromStart: boolean;
  readonly json: boolean;
  readonly intervalMs: number;
  readonly rawQueries: boolean;
  readonly blockingThresholdMs: number;
  readonly idleInTransactionMs: number;
  readonly longTransactionMs: number;
}

const postgresUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${redactUrl(value)}" is not a URL; expected postgres://user:password@host:5432/database` });
    return;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    ctx.addIssue({
      code: 'custom',
      message: `the URL must start with postgres:// (got "${redactUrl(value)}"); expected postgres://user:password@host:5432/database`,
    });
  } else if (!url.hostname && !url.searchParams.get('host')) {
    ctx.addIssue({ code: 'custom', message: 'the URL names no host; expected postgres://user:password@host:5432/database' });
  }
});

const seconds = (name: string) =>
  z.coerce.number({ error: `${name} must be a number of seconds` }).positive(`${name} must be more than 0 seconds`);

const schema = z.object({
  url: postgresUrl,
  name: z.string().min(1).optional(),
  log: z.string().min(1).optional(),
  logPrefix: z.string().optional(),
  logFormat: z.enum(['auto', 'stderr', 'csvlog', 'jsonlog'], { error: '--log-format must be auto, stderr, csvlog or jsonlog' }).default('auto'),
  fromStart: z.boolean().default(false),
  json: z.boolean().default(false),
  interval: seconds('--interval').max(60, '--interval must be at most 60 seconds').default(1),
  rawQueries: z.boolean().default(false),
  blockingThreshold: seconds('--blocking-threshold').default(1),
  idleInTransaction: seconds('--idle-in-transaction').default(30),
  longTransaction: seconds('--long-transaction').default(300),
});

export type WatchFlags = z.input<typeof schema>;

/**
 * Validates `watch` flags, reporting every problem at once. `env` is consulted for opt-ins that
 * teams set once (HINDSIGHT_RAW_QUERIES=1); this module is the only reader of process.env for it.
 */
export function parseWatchOptions(flags: WatchFlags, env: NodeJS.ProcessEnv = process.env): WatchOptions {
  const parsed = schema.safeParse(flags);
  if (!parsed.success) throw invalid(parsed.error);
  const f = parsed.data;
  return {
    url: f.url,
    name: f.name ?? targetName(f.url),
    logPath: f.log ?? null,
    logPrefix: f.logPrefix ?? null,
    logFormat: f.logFormat,
    fromStart: f.fromStart,
    json: f.json,
    intervalMs: Math.round(f.interval * 1000),
    rawQueries: f.rawQueries || env.HINDSIGHT_RAW_QUERIES === '1',
    blockingThresholdMs: Math.round(f.blockingThreshold * 1000),
    idleInTransactionMs: Math.round(f.idleInTransaction * 1000),
    longTransactionMs: Math.round(f.longTransaction * 1000),
  };
}

function invalid(error: z.ZodError): HindsightError {
  const problems = error.issues.map((issue) => issue.message);
  return userError('E_WATCH_OPTIONS', problems.length === 1 ? (problems[0] ?? '') : `invalid options:\n  - ${problems.join('\n  - ')}`);
}

/** `host:port/database`, for display; never includes the password. */
export function targetName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return 'postgres';
  }
}

/** The URL with its password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
