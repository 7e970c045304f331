import type { Deploy, FailureCause, RouteRollup } from '../../src/core/app-signal.js';

/** A rollup of `shop`'s POST /checkout; override what the test is about. */
export const rollup = (bucket: number, over: Partial<RouteRollup> = {}): RouteRollup => ({
  service: 'shop',
  method: 'POST',
  route: '/checkout',
  bucket,
  requests: 10,
  failures: 0,
  durationMsSum: 100,
  durationMsMax: 20,
  users: [],
  failedUsers: [],
  usersTruncated: false,
  causes: [],
  samples: [],
  releases: [],
  ...over,
});

export const cause = (count: number, over: Partial<FailureCause> = {}): FailureCause => ({
  sqlstate: '40P01',
  callSite: 'demo/shop/checkout.ts:88',
  query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
  errorClass: 'DatabaseError',
  count,
  ...over,
});

/** Rollups every 10 s over [from, until) with `requests` and `failures` each. */
export const series = (
  from: number,
  until: number,
  per: { readonly requests: number; readonly failures: number },
  over: Partial<RouteRollup> = {},
): RouteRollup[] => {
  const out: RouteRollup[] = [];
  for (let b = from; b < until; b += 10_000)
    out.push(rollup(b, { requests: per.requests, failures: per.failures, ...over }));
  return out;
};

export const deploy = (version: string, at: number, over: Partial<Deploy> = {}): Deploy => ({
  id: `deploy-${version}`,
  service: 'shop',
  version,
  commit: null,
  at,
  actor: 'ci',
  ...over,
});
