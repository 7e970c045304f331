import { z } from 'zod';

/** Pieces of channel settings schemas. Messages never repeat the value: it may be a secret. */

/** An http(s) URL; for webhook URLs that are their own secret, the error does not show it. */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

/** A secret someone chose: never blank (an unset variable must not silently disable signing). */
export const secretText = z.string().refine((v) => v.trim() !== '', 'must not be empty');
