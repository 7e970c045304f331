import { z } from 'zod';
import { ApiError } from '../api-error.js';

/** The query of a signed link a notification carries (acknowledge-links.ts): its expiry and signature. */
export const signedLinkQuerySchema = z.object({
  exp: z.coerce.number().int().nonnegative(),
  sig: z.string().min(1).max(200),
});

/** 403 for a link that is not 'valid': expired (with `whenExpired`, what to do instead) or not ours. */
export const checkLinkVerdict = (
  verdict: 'valid' | 'expired' | 'invalid',
  what: string,
  whenExpired: string,
): void => {
  if (verdict === 'valid') return;
  throw new ApiError({
    status: 403,
    code: verdict === 'expired' ? 'LINK_EXPIRED' : 'LINK_INVALID',
    message:
      verdict === 'expired'
        ? `this ${what} link has expired; ${whenExpired}`
        : `this is not a valid ${what} link for that incident`,
  });
};
