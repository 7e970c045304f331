/**
 * A share (0..1) as people read it: `31%`, `0.4%` under 1 % (one decimal, so a small but real
 * error rate is not shown as `0%`), `0%` only for nothing at all, `100%` only for everything.
 */
export const formatPercent = (share: number): string => {
  if (!Number.isFinite(share) || share <= 0) return '0%';
  if (share >= 1) return '100%';
  const pct = share * 100;
  if (pct < 1) return `${Math.max(0.1, Math.round(pct * 10) / 10).toString()}%`;
  // Never round a partial failure up to 100 %.
  return `${Math.min(99, Math.round(pct)).toString()}%`;
};

/** Minutes with one decimal: `0.4 min`, `12 min` (whole from 10 on). */
export const formatMinutes = (ms: number): string => {
  const min = Math.max(0, ms) / 60_000;
  return min < 10 ? `${(Math.round(min * 10) / 10).toString()} min` : `${Math.round(min).toString()} min`;
};
