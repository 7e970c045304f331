import { userError } from '../core/errors.js';

/** Placeholder until the shared log parser lands; see src/race/README.md. */
export function specFromLogFile(path: string): Promise<string> {
  return Promise.reject(userError('RACE_FROM_LOG_UNAVAILABLE', `--from-log ${path}: not implemented yet`));
}
