import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appEventSchema, fastEvent } from '../../../src/api/schemas/event-schemas.js';

/** Values near the edges of each rule: valid ones, and ones each rule refuses. */
const anyText = fc.oneof(
  fc.constantFrom('', 'a', '/checkout', 'x\u0000y', 'ok'.repeat(40)),
  fc.string({ maxLength: 10 }),
  fc.nat(600).map((n) => 'x'.repeat(n)),
);
const anyValue = fc.oneof(
  anyText,
  fc.constant(null),
  fc.constant(undefined),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
);
const maybe = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anyValue });
const sqlFailure = fc.record(
  {
    sqlstate: maybe(fc.constantFrom('40P01', '55P03', '4op01', '40P0', 'XX000')),
    query: maybe(
      fc.oneof(
        anyText,
        fc.nat(9_000).map((n) => 'q'.repeat(n)),
      ),
    ),
    callSite: maybe(fc.option(anyText)),
    extra: fc.option(fc.string()),
  },
  { requiredKeys: [] },
);
const request = fc.record(
  {
    kind: maybe(fc.constantFrom('request', 'query_failure', 'nope')),
    at: maybe(fc.oneof(fc.nat(), fc.constantFrom(-1, 1.5, 1_764_527_000_123, Number.MAX_SAFE_INTEGER + 2))),
    method: maybe(fc.constantFrom('GET', 'post', 'PATCH', 'GET /', '', 'ABCDEFGHIJKLMNOPQ')),
    route: maybe(anyText),
    status: maybe(fc.constantFrom(100, 200, 404, 500, 599, 600, 99, 200.5)),
    durationMs: maybe(fc.constantFrom(0, 12.5, -1, 86_400_001, 3)),
    user: maybe(fc.option(anyText)),
    errorClass: maybe(fc.option(anyText)),
    release: maybe(fc.option(anyText)),
    sqlFailures: maybe(fc.array(sqlFailure, { maxLength: 3 })),
    job: maybe(fc.option(anyText)),
    failure: maybe(sqlFailure),
  },
  { requiredKeys: [] },
);

describe('fastEvent', () => {
  it('accepts only what appEventSchema accepts, with the same output', () => {
    let accepted = 0;
    fc.assert(
      fc.property(request, (item) => {
        const fast = fastEvent(item, 'shop');
        const zod = appEventSchema.safeParse(item);
        if (fast !== undefined) {
          accepted += 1;
          expect(zod.success).toBe(true);
          expect(fast).toEqual({ ...zod.data, service: 'shop' });
        }
      }),
      // ~0.6% of generated items are valid: 10,000 runs give ~60 of them (3,000 gave 16–25: flaky).
      { numRuns: 10_000 },
    );
    // The generator reaches valid events often enough for the check to mean something.
    expect(accepted).toBeGreaterThan(20);
  });

  it('accepts the wire format of the plan as zod does', () => {
    const item = {
      kind: 'request',
      at: 1_764_527_000_123,
      method: 'post',
      route: '/checkout',
      status: 500,
      durationMs: 12.5,
      user: '9f2c',
      errorClass: 'DatabaseError',
      release: 'v2',
      sqlFailures: [
        {
          sqlstate: '40P01',
          query: 'UPDATE inventory SET stock = stock - $1',
          callSite: 'demo/shop/checkout.ts:88',
        },
      ],
    };
    expect(fastEvent(item, 's')).toEqual({ ...appEventSchema.parse(item), service: 's' });
    const job = {
      kind: 'query_failure',
      at: 1,
      job: null,
      release: null,
      failure: { sqlstate: '40P01', query: 'q', callSite: null },
    };
    expect(fastEvent(job, 's')).toEqual({ ...appEventSchema.parse(job), service: 's' });
  });
});
