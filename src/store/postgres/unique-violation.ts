import { storeConflict } from '../store-conflict.js';

/** SQLSTATE 23505: a unique index refused the row. */
const isUniqueViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';

/**
 * A `.catch` handler turning a unique violation into the store's conflict error (the memory store
 * throws the same one), and letting anything else through unchanged.
 */
export const conflictOn =
  (what: string) =>
  (error: unknown): never => {
    if (isUniqueViolation(error)) throw storeConflict(what, error);
    throw error;
  };
