import { randomBytes } from 'node:crypto';
import type { IdSource } from '../core/ports.js';

/** Ids like `dl_3f9c0a1b2c4d`: a readable prefix, then 48 random bits. */
export const randomIds: IdSource = {
  next: (prefix) => `${prefix}_${randomBytes(6).toString('hex')}`,
};
