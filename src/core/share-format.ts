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

/**
 * A gap people read at a glance: `under a second` (not `0 s`: a deadlock can follow its deploy within
 * the second), `3 s` under a minute, `1.5 min` under ten, then `12 min`, `3 h`.
 */
export const formatMinutes = (ms: number): string => {
  const s = Math.max(0, ms) / 1000;
  if (s < 0.5) return 'under a second';
  if (s < 60) return `${Math.round(s).toString()} s`;
  const min = s / 60;
  if (min < 10) return `${(Math.round(min * 10) / 10).toString()} min`;
  if (min < 120) return `${Math.round(min).toString()} min`;
  return `${Math.round(min / 60).toString()} h`;
};
