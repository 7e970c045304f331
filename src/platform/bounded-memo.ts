/**
 * Memoizes a pure string function with at most `max` remembered inputs, evicting the oldest:
 * the agent sees the same few hundred query texts every second and need not re-normalize them.
 */
export function boundedMemo(fn: (input: string) => string, max = 2000): (input: string) => string {
  const cache = new Map<string, string>();
  return (input) => {
    const hit = cache.get(input);
    if (hit !== undefined) return hit;
    const value = fn(input);
    if (cache.size >= max) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(input, value);
    return value;
  };
}
