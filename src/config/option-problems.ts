import type { z } from 'zod';
import { userError, type HindsightError } from '../core/errors.js';
import { formatPath } from './interpolate.js';

/**
 * Every command reports all the problems of its options at once, the same way: one line for one
 * problem, a list for several.
 */
export const optionsError = (code: string, problems: readonly string[]): HindsightError =>
  userError(
    code,
    problems.length === 1 ? (problems[0] ?? '') : `invalid options:\n  - ${problems.join('\n  - ')}`,
  );

/**
 * zod issues as lines. A message that names its flag (`--top must be…`) stands as it is; others are
 * prefixed with the flag `names` gives for their path, else with the path.
 */
export const issueLines = (error: z.ZodError, names: Readonly<Record<string, string>> = {}): string[] =>
  error.issues.map((issue) => {
    if (issue.message.startsWith('--')) return issue.message;
    const path = formatPath(issue.path);
    const label = names[path] ?? path;
    return label === '' ? issue.message : `${label}: ${issue.message}`;
  });
