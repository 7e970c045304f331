import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The generic webhook's signature, for receivers to check that a request is Hindsight's and new.
 *
 *   X-Hindsight-Timestamp: <unix time in seconds when it was sent>
 *   X-Hindsight-Signature: v1=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 * The receiver recomputes the HMAC over the timestamp header, a `.`, and the body *bytes as
 * received* (before any JSON parsing), compares in constant time, and refuses a timestamp more
 * than 5 minutes from its own clock, so a captured request cannot be replayed later. The
 * signature header may carry several comma-separated `v1=` values (a secret being rotated): one
 * match is enough. `verifyWebhookSignature` does all of this.
 */

export const SIGNATURE_HEADER = 'x-hindsight-signature';
export const TIMESTAMP_HEADER = 'x-hindsight-timestamp';
export const DEFAULT_TOLERANCE_MS = 5 * 60_000;

/** The `X-Hindsight-Signature` value for a body sent at `timestampSeconds`. */
export function signWebhookBody(secret: string, timestampSeconds: number, body: string | Uint8Array): string {
  return `v1=${hmacHex(secret, String(timestampSeconds), body)}`;
}

export type SignatureCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

export interface SignatureInput {
  readonly secret: string;
  /** The raw body as received. */
  readonly body: string | Uint8Array;
  /** The `X-Hindsight-Timestamp` header (null or undefined when absent). */
  readonly timestamp: string | null | undefined;
  /** The `X-Hindsight-Signature` header. */
  readonly signature: string | null | undefined;
  /** The receiver's clock, epoch ms. */
  readonly now: number;
  /** How far the timestamp may be from `now`; 5 minutes by default. */
  readonly toleranceMs?: number;
}

/** Checks a received webhook: signature over timestamp + body, and a timestamp within tolerance. */
export function verifyWebhookSignature(input: SignatureInput): SignatureCheck {
  if (input.timestamp == null || input.signature == null) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: 'malformed' };
  const candidates = input.signature
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3));
  if (candidates.length === 0 || candidates.some((hex) => !/^[0-9a-f]{64}$/.test(hex)))
    return { ok: false, reason: 'malformed' };
  const sentAt = Number(input.timestamp) * 1000;
  if (Math.abs(input.now - sentAt) > (input.toleranceMs ?? DEFAULT_TOLERANCE_MS))
    return { ok: false, reason: 'stale' };
  const expected = Buffer.from(hmacHex(input.secret, input.timestamp, input.body), 'hex');
  const matches = candidates.some((hex) => timingSafeEqual(expected, Buffer.from(hex, 'hex')));
  return matches ? { ok: true } : { ok: false, reason: 'mismatch' };
}

function hmacHex(secret: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}
