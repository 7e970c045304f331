/** Lists are bounded: `limit` defaults to 100 and never exceeds 1000 (see core/incident-store.ts). */
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

export const listLimit = (limit: number | undefined): number =>
  Math.max(0, Math.min(MAX_LIST_LIMIT, Math.trunc(limit ?? DEFAULT_LIST_LIMIT)));
