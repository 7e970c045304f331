import { createHash } from 'node:crypto';

/**
 * The 64-bit advisory-lock key of a lock name: the first 8 bytes of SHA-256("hindsight:" + name),
 * as a signed bigint in decimal (what `pg_advisory_xact_lock(bigint)` takes). Computed here rather
 * than with `hashtext()`, whose values PostgreSQL does not promise to keep across majors.
 */
export const advisoryKey = (name: string): string =>
  createHash('sha256').update(`hindsight:${name}`).digest().readBigInt64BE(0).toString();
