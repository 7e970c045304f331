import type { RouteRollup } from './app-signal.js';

/**
 * Impact: the distinct users with a failed request in a span as a share of the service's active
 * users in it (the union of its rollups' user sets, every route). User ids are the app's, hashed by
 * the SDK; requests without one count for neither side. Each rollup keeps at most
 * `MAX_ROLLUP_USERS` ids per set: when one was cut, `truncated` is true and both counts are lower
 * bounds (the kept ids are the smallest hashes, an unbiased sample, so the share stays a fair
 * estimate).
 */
export interface AppImpact {
  readonly affectedUsers: number;
  readonly activeUsers: number;
  /** affectedUsers / activeUsers, 0..1. */
  readonly share: number;
  /** The span the users were counted over. */
  readonly windowMs: number;
  /** A user set reached its bound in some rollup: the counts are lower bounds. */
  readonly truncated: boolean;
}

/** A service's rollups in [from, until]: by bucket start. */
export interface SignalSpan {
  readonly service: string;
  readonly from: number;
  readonly until: number;
}

export const inSpan = (r: RouteRollup, span: SignalSpan): boolean =>
  r.service === span.service && r.bucket >= span.from && r.bucket <= span.until;

/** The impact over the span, or null when no request in it named a user (nothing to count). */
export const measureImpact = (rollups: readonly RouteRollup[], span: SignalSpan): AppImpact | null => {
  const active = new Set<string>();
  const affected = new Set<string>();
  let truncated = false;
  for (const r of rollups) {
    if (!inSpan(r, span)) continue;
    for (const u of r.users) active.add(u);
    // A failed user was active, even if the active set was the one cut.
    for (const u of r.failedUsers) {
      affected.add(u);
      active.add(u);
    }
    truncated ||= r.usersTruncated;
  }
  if (active.size === 0) return null;
  return {
    affectedUsers: affected.size,
    activeUsers: active.size,
    share: affected.size / active.size,
    windowMs: Math.max(0, span.until - span.from),
    truncated,
  };
};
