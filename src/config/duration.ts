import { z } from 'zod';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** `30s`, `10m`, `1h`, `1h30m`, `500ms` → milliseconds; null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let match = PART.exec(trimmed); match !== null; match = PART.exec(trimmed)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
    end = PART.lastIndex;
  }
  return end === trimmed.length && Number.isFinite(total) ? Math.round(total) : null;
}

/** A zod schema for a duration written with its unit (a bare number is ambiguous, so rejected). */
export const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = typeof value === 'string' ? parseDuration(value) : null;
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message: `"${String(value)}" is not a duration; write it with its unit: 30s, 10m, 1h, 500ms`,
    });
    return z.NEVER;
  }
  return ms;
});

/** `600000` → `10m`, for display. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
