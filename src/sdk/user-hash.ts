import { createHmac } from 'node:crypto';

/** Distinct user ids remembered with their hash (a busy app sees the same users again and again). */
const CACHE_LIMIT = 2048;

/**
 * Hashes the app's opaque user ids (HMAC-SHA256, 128 bits in hex) so that only the hash leaves the
 * process. The default key is derived from the service name, so every replica of a service hashes a
 * user the same way and distinct-user counts add up across replicas.
 * The OTLP route hashes `enduser.id` the same way (api/integrations/otlp; test/unit/sdk/user-hash.test.ts keeps them equal).
 */
export const createUserHasher = (service: string, salt?: string): ((userId: string) => string) => {
  const key = salt ?? `hindsight-user:${service}`;
  const cache = new Map<string, string>();
  return (userId) => {
    const known = cache.get(userId);
    if (known !== undefined) return known;
    const hash = createHmac('sha256', key).update(userId).digest('hex').slice(0, 32);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(userId, hash);
    return hash;
  };
};
