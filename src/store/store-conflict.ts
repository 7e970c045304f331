import { HindsightError } from '../core/errors.js';

/**
 * A write that breaks a uniqueness rule of the store: a second firing alert for one fingerprint, an
 * id or token secret inserted twice. Usually two writers racing; the loser retries or re-reads.
 */
export const storeConflict = (what: string, cause?: unknown): HindsightError =>
  new HindsightError({
    code: 'STORE_CONFLICT',
    kind: 'transient',
    message: `${what} already exists (another writer got there first); read it again and retry`,
    cause,
  });
