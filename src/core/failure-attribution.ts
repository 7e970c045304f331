import type { RouteRollup } from './app-signal.js';
import type { SignalSpan } from './app-impact.js';
import { inSpan } from './app-impact.js';

/**
 * Attribution: which share of a route's failures carried which cause — the SQLSTATE of the
 * request's first failed statement, its call site and statement (or only the error class when no
 * SQL failed) — e.g. 94 % of the failures on POST /checkout were 40P01 at checkout.ts:88. Built from
 * the rollups' cause counts; the all-null cause (a failure with nothing known, or the rest folded
 * past `MAX_ROLLUP_CAUSES`) still counts in the route's total but is not listed.
 */
export interface FailureAttribution {
  /** `POST /checkout`, or `job restock` for query failures outside requests. */
  readonly route: string;
  readonly sqlstate: string | null;
  readonly callSite: string | null;
  /** The statement, normalized. Text from the monitored world: render as text. */
  readonly query: string | null;
  readonly errorClass: string | null;
  /** failures / all failures of the route in the span, 0..1. */
  readonly share: number;
  readonly failures: number;
}

/** `POST /checkout`; a job's rollup (method `JOB`) is `job <name>`. */
export const rollupRouteName = (r: Pick<RouteRollup, 'method' | 'route'>): string =>
  r.method === 'JOB' ? `job ${r.route}` : `${r.method} ${r.route}`;

export const MAX_ATTRIBUTIONS = 10;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The causes of the service's failures in the span, largest first (by failures, then share), at most `max`. */
export const attributeFailures = (
  rollups: readonly RouteRollup[],
  span: SignalSpan,
  max: number = MAX_ATTRIBUTIONS,
): FailureAttribution[] => {
  const totals = new Map<string, number>();
  const causes = new Map<
    string,
    {
      route: string;
      sqlstate: string | null;
      callSite: string | null;
      query: string | null;
      errorClass: string | null;
      failures: number;
    }
  >();
  for (const r of rollups) {
    if (!inSpan(r, span) || r.failures === 0) continue;
    const route = rollupRouteName(r);
    totals.set(route, (totals.get(route) ?? 0) + r.failures);
    for (const c of r.causes) {
      if (c.sqlstate === null && c.callSite === null && c.query === null && c.errorClass === null) continue;
      const key = JSON.stringify([route, c.sqlstate, c.callSite, c.query, c.errorClass]);
      const seen = causes.get(key);
      if (seen === undefined)
        causes.set(key, {
          route,
          sqlstate: c.sqlstate,
          callSite: c.callSite,
          query: c.query,
          errorClass: c.errorClass,
          failures: c.count,
        });
      else seen.failures += c.count;
    }
  }
  const listed = [...causes.entries()].map(([key, c]) => {
    const total = totals.get(c.route) ?? 0;
    return { key, attribution: { ...c, share: total === 0 ? 0 : Math.min(1, c.failures / total) } };
  });
  listed.sort(
    (a, b) =>
      b.attribution.failures - a.attribution.failures ||
      b.attribution.share - a.attribution.share ||
      cmp(a.key, b.key),
  );
  return listed.slice(0, Math.max(0, max)).map((l) => l.attribution);
};
