import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  convertSpans,
  hashUserId,
  serviceNameOf,
  type HeldFailure,
} from '../../../src/api/integrations/otlp/otlp-span-converter.js';
import { decodeTraceRequest } from '../../../src/api/integrations/otlp/otlp-trace-decoder.js';
import type { AppEvent, QueryFailure, RequestOutcome } from '../../../src/core/app-signal.js';
import { createUserHasher } from '../../../src/sdk/user-hash.js';

/**
 * The fixture is a real export: test/integration/api/otlp/otel-instrumented-app.ts (OTel Node SDK
 * 2.12, instrumentation-http 0.223, instrumentation-pg 0.76, the JSON exporter) after one
 * deadlocked `POST /checkout` and one `POST /jobs/restock` whose INSERT hit a duplicate key.
 */
const recorded = readFileSync(
  new URL('../../fixtures/integrations/otlp-node-sdk-deadlock.json', import.meta.url),
);

const convert = (request: unknown) =>
  convertSpans(decodeTraceRequest(Buffer.from(JSON.stringify(request)), 'json').resourceSpans);

const requests = (events: readonly AppEvent[]): RequestOutcome[] =>
  events.filter((e): e is RequestOutcome => e.kind === 'request');
const queryFailures = (events: readonly AppEvent[]): QueryFailure[] =>
  events.filter((e): e is QueryFailure => e.kind === 'query_failure');

type Attr = Record<string, string | number | boolean>;

const attributes = (attrs: Attr) =>
  Object.entries(attrs).map(([key, v]) => ({
    key,
    value:
      typeof v === 'string'
        ? { stringValue: v }
        : typeof v === 'boolean'
          ? { boolValue: v }
          : { intValue: String(v) },
  }));

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const START = 1_764_527_000_000_000_000n;

/** A span in the OTLP JSON shape; times in ms after START. */
const span = (s: {
  id: string;
  parent?: string;
  kind: number;
  name?: string;
  attrs: Attr;
  from?: number;
  to?: number;
  error?: boolean;
  events?: { name: string; attrs: Attr }[];
  trace?: string;
}) => ({
  traceId: s.trace ?? TRACE,
  spanId: s.id.padStart(16, '0'),
  ...(s.parent === undefined ? {} : { parentSpanId: s.parent.padStart(16, '0') }),
  name: s.name ?? 'span',
  kind: s.kind,
  startTimeUnixNano: String(START + BigInt(s.from ?? 0) * 1_000_000n),
  endTimeUnixNano: String(START + BigInt(s.to ?? 10) * 1_000_000n),
  attributes: attributes(s.attrs),
  events: (s.events ?? []).map((e) => ({
    name: e.name,
    timeUnixNano: String(START),
    attributes: attributes(e.attrs),
  })),
  status: { code: s.error === true ? 2 : 0 },
});

const batch = (spans: unknown[], resource: Attr = { 'service.name': 'shop', 'service.version': 'v2' }) => ({
  resourceSpans: [
    { resource: { attributes: attributes(resource) }, scopeSpans: [{ scope: { name: 'test' }, spans }] },
  ],
});

const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;

describe('convertSpans on a real export of the OpenTelemetry Node SDK', () => {
  const { events, rejected, problems } = convertSpans(decodeTraceRequest(recorded, 'json').resourceSpans);

  it('makes one request outcome per HTTP server span, with the deadlock as its SQL failure', () => {
    expect(rejected).toBe(0);
    expect(problems).toEqual([]);
    const [checkout, job] = requests(events);
    expect(checkout).toEqual({
      kind: 'request',
      service: 'shop',
      at: 1_796_064_345_721,
      method: 'POST',
      route: '/checkout',
      status: 500,
      durationMs: 545.84858,
      user: hashUserId('shop', 'user-17'),
      errorClass: null,
      release: 'v2',
      sqlFailures: [
        {
          sqlstate: '40P01',
          query: 'UPDATE accounts SET balance = balance - $1 WHERE id = $2',
          callSite: 'otel-instrumented-app.ts:92',
        },
      ],
    });
    expect(job).toMatchObject({ route: '/jobs/restock', status: 202, sqlFailures: [] });
  });

  it('makes the failed statement of a job outside any request a query failure, its job read from the sqlcommenter tag', () => {
    expect(queryFailures(events)).toEqual([
      {
        kind: 'query_failure',
        service: 'shop',
        at: 1_796_064_345_818,
        job: 'restock',
        release: 'v2',
        failure: {
          sqlstate: '23505',
          query: 'INSERT INTO accounts (id, balance) VALUES ($1, $2)',
          callSite: 'otel-instrumented-app.ts:122',
        },
      },
    ]);
    expect(events).toHaveLength(3);
  });
});

describe('convertSpans', () => {
  it('reads the older semantic conventions (http.method, http.status_code, db.system, db.statement, code.filepath, code.lineno)', () => {
    const { events } = convert(
      batch([
        span({
          id: 'a1',
          kind: SERVER,
          attrs: {
            'http.method': 'get',
            'http.status_code': 503,
            'http.route': '/orders/:id',
            'http.target': '/orders/42',
          },
          to: 30,
        }),
        span({
          id: 'b1',
          parent: 'a1',
          kind: CLIENT,
          error: true,
          attrs: {
            'db.system': 'postgresql',
            'db.statement': "SELECT * FROM orders WHERE id = 42 AND note = 'x'",
            'db.response.status_code': '57014',
            'code.filepath': 'src/orders.ts',
            'code.lineno': 12,
          },
        }),
      ]),
    );
    expect(events).toEqual([
      expect.objectContaining({
        method: 'GET',
        route: '/orders/:id',
        status: 503,
        durationMs: 30,
        user: null,
        sqlFailures: [
          {
            sqlstate: '57014',
            query: 'SELECT * FROM orders WHERE id = $1 AND note = $2',
            callSite: 'src/orders.ts:12',
          },
        ],
      }),
    ]);
  });

  it('never takes a raw path for the route: (unmatched) without http.route', () => {
    const { events } = convert(
      batch([
        span({
          id: 'a1',
          kind: SERVER,
          attrs: {
            'http.request.method': 'GET',
            'http.response.status_code': 404,
            'url.path': '/users/alice@example.com',
          },
        }),
      ]),
    );
    expect(requests(events)[0]?.route).toBe('(unmatched)');
  });

  it('takes the call site and job from sqlcommenter tags when there are no code.* attributes, and strips the tags from the query', () => {
    const { events } = convert(
      batch([
        span({
          id: 'c1',
          kind: CLIENT,
          error: true,
          attrs: {
            'db.system.name': 'postgresql',
            'db.query.text':
              "UPDATE products SET stock = 0 WHERE id = 7 /*callsite='jobs%2Frestock.ts%3A20',job='restock'*/",
            'error.type': '40P01',
          },
        }),
      ]),
    );
    expect(queryFailures(events)).toEqual([
      expect.objectContaining({
        job: 'restock',
        failure: {
          sqlstate: '40P01',
          query: 'UPDATE products SET stock = $1 WHERE id = $2',
          callSite: 'jobs/restock.ts:20',
        },
      }),
    ]);
  });

  it('joins a failure to the nearest server span above it through internal spans, in the order the statements started', () => {
    const pg = (id: string, parent: string, from: number, sqlstate: string) =>
      span({
        id,
        parent,
        kind: CLIENT,
        error: true,
        from,
        to: from + 1,
        attrs: {
          'db.system.name': 'postgresql',
          'db.query.text': `SELECT ${from}`,
          'db.response.status_code': sqlstate,
        },
      });
    const { events } = convert(
      batch([
        pg('d2', 'b1', 5, '40001'),
        span({ id: 'b1', parent: 'a1', kind: INTERNAL, attrs: { 'express.type': 'middleware' } }),
        pg('d1', 'a1', 2, '55P03'),
        span({
          id: 'a1',
          kind: SERVER,
          attrs: { 'http.request.method': 'POST', 'http.response.status_code': 500, 'http.route': '/pay' },
        }),
      ]),
    );
    expect(events).toHaveLength(1);
    expect(requests(events)[0]?.sqlFailures.map((f) => f.sqlstate)).toEqual(['55P03', '40001']);
  });

  it('does not join spans of another trace, and keeps a failure whose parent is not in the batch as a query failure', () => {
    const { events } = convert(
      batch([
        span({
          id: 'a1',
          kind: SERVER,
          attrs: { 'http.request.method': 'POST', 'http.response.status_code': 500 },
        }),
        span({
          id: 'd1',
          parent: 'a1',
          trace: 'ffffffffffffffffffffffffffffffff',
          kind: CLIENT,
          error: true,
          attrs: { 'db.system.name': 'postgresql', 'db.response.status_code': '40P01' },
        }),
      ]),
    );
    expect(requests(events)[0]?.sqlFailures).toEqual([]);
    expect(queryFailures(events)).toHaveLength(1);
  });

  it('leaves out failed statements without a SQLSTATE, other databases and spans that are neither', () => {
    const { events, rejected } = convert(
      batch([
        span({
          id: 'c1',
          kind: CLIENT,
          error: true,
          events: [
            { name: 'exception', attrs: { 'exception.message': 'connect ECONNREFUSED 127.0.0.1:5432' } },
          ],
          attrs: { 'db.system.name': 'postgresql' },
        }),
        span({
          id: 'c2',
          kind: CLIENT,
          error: true,
          attrs: { 'db.system.name': 'mysql', 'db.response.status_code': '40001' },
        }),
        span({ id: 'c3', kind: SERVER, attrs: { 'rpc.system': 'grpc' } }),
        span({ id: 'c4', kind: INTERNAL, attrs: {} }),
      ]),
    );
    expect(events).toEqual([]);
    expect(rejected).toBe(0);
  });

  it('takes the error class from an exception event, or Error for a failed span below 500', () => {
    const { events } = convert(
      batch([
        span({
          id: 'a1',
          kind: SERVER,
          error: true,
          events: [
            {
              name: 'exception',
              attrs: { 'exception.type': 'TypeError', 'exception.message': 'x is undefined' },
            },
          ],
          attrs: { 'http.request.method': 'GET', 'http.response.status_code': 500, 'http.route': '/a' },
        }),
        span({
          id: 'a2',
          kind: SERVER,
          error: true,
          attrs: { 'http.request.method': 'GET', 'http.response.status_code': 499, 'http.route': '/b' },
        }),
        span({
          id: 'a3',
          kind: SERVER,
          attrs: { 'http.request.method': 'GET', 'http.response.status_code': 404, 'http.route': '/c' },
        }),
      ]),
    );
    expect(requests(events).map((r) => r.errorClass)).toEqual(['TypeError', 'Error', null]);
  });

  it('hashes enduser.id per service as the SDK does by default, and never passes it on raw', () => {
    const server = (service: string) =>
      batch(
        [
          span({
            id: 'a1',
            kind: SERVER,
            attrs: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'enduser.id': 'alice' },
          }),
        ],
        { 'service.name': service },
      );
    const shop = requests(convert(server('shop')).events)[0]?.user;
    const blog = requests(convert(server('blog')).events)[0]?.user;
    expect(shop).toMatch(/^[0-9a-f]{32}$/);
    expect(shop).not.toBe(blog);
    expect(shop).toBe(hashUserId('shop', 'alice'));
    expect(shop).toBe(createUserHasher('shop')('alice'));
  });

  it('names the service unknown_service when the resource has no service.name (the OTel default) and the release null without service.version', () => {
    const { events } = convert(
      batch(
        [
          span({
            id: 'a1',
            kind: SERVER,
            attrs: { 'http.request.method': 'GET', 'http.response.status_code': 200 },
          }),
        ],
        {},
      ),
    );
    expect(events[0]).toMatchObject({ service: 'unknown_service', release: null });
  });

  it('fits values to what POST /api/v1/events takes: service names, unknown methods, NUL, long text', () => {
    expect(serviceNameOf('unknown_service:node')).toBe('unknown_service-node');
    expect(serviceNameOf('  my shop/api ')).toBe('my-shop-api-');
    expect(serviceNameOf('x'.repeat(80))).toHaveLength(63);
    expect(serviceNameOf('::')).toBe('unknown_service');
    const longPath = `${'deep/'.repeat(200)}checkout.ts`;
    const { events } = convert(
      batch(
        [
          span({
            id: 'a1',
            kind: SERVER,
            attrs: {
              'http.request.method': '_OTHER',
              'http.response.status_code': 500,
              'http.route': '/a\u0000b',
            },
            to: 100_000_000,
          }),
          span({
            id: 'b1',
            parent: 'a1',
            kind: CLIENT,
            error: true,
            attrs: {
              'db.system.name': 'postgresql',
              'db.response.status_code': '40P01',
              'code.file.path': longPath,
              'code.line.number': 7,
            },
          }),
        ],
        { 'service.name': 'unknown_service:node', 'service.version': 'v'.repeat(150) },
      ),
    );
    const [request] = requests(events);
    expect(request).toMatchObject({
      service: 'unknown_service-node',
      method: 'OTHER',
      route: '/ab',
      durationMs: 86_400_000,
    });
    expect(request?.release).toHaveLength(100);
    expect(request?.sqlFailures[0]?.callSite).toHaveLength(512);
    expect(request?.sqlFailures[0]?.callSite).toMatch(/\/checkout\.ts:7$/);
  });

  it('rejects a server span without a status code, saying why', () => {
    const { events, rejected, problems } = convert(
      batch([span({ id: 'a1', kind: SERVER, name: 'GET', attrs: { 'http.request.method': 'GET' } })]),
    );
    expect(events).toEqual([]);
    expect(rejected).toBe(1);
    expect(problems).toEqual([
      'server span "GET": no http.response.status_code (or http.status_code) between 100 and 599',
    ]);
  });
});

describe('convertSpans across batches (a request split by the BatchSpanProcessor)', () => {
  const server = (id: string, route: string) =>
    span({
      id,
      kind: SERVER,
      attrs: { 'http.request.method': 'POST', 'http.response.status_code': 500, 'http.route': route },
      to: 50,
    });
  const failed = (id: string, parent: string, sqlstate = '40P01', from = 5) =>
    span({
      id,
      parent,
      kind: CLIENT,
      error: true,
      from,
      to: from + 1,
      attrs: {
        'db.system.name': 'postgresql',
        'db.query.text': 'UPDATE t SET x = 1',
        'db.response.status_code': sqlstate,
      },
    });
  const decode = (request: unknown) =>
    decodeTraceRequest(Buffer.from(JSON.stringify(request)), 'json').resourceSpans;
  const hold = { holdMs: 15_000 };

  it('holds a failure whose parent is not in its batch and joins it to the request when the server span comes', () => {
    const first = convertSpans(decode(batch([failed('d1', 'b1')])), { ...hold, now: 1000 });
    expect(first.events).toEqual([]);
    expect(first.held).toMatchObject([{ awaitedSpanId: '00000000000000b1', heldAt: 1000 }]);

    // The next batch brings the middleware span above it, whose parent (the server span) comes later still.
    const second = convertSpans(
      decode(batch([span({ id: 'b1', parent: 'a1', kind: INTERNAL, attrs: {} })])),
      { ...hold, held: first.held, now: 6000 },
    );
    expect(second.events).toEqual([]);
    expect(second.held).toMatchObject([{ awaitedSpanId: '00000000000000a1', heldAt: 1000 }]);

    const third = convertSpans(decode(batch([failed('d2', 'a1', '55P03', 1), server('a1', '/checkout')])), {
      ...hold,
      held: second.held,
      now: 11_000,
    });
    expect(third.held).toEqual([]);
    expect(third.events).toEqual([
      expect.objectContaining({
        kind: 'request',
        route: '/checkout',
        sqlFailures: [
          expect.objectContaining({ sqlstate: '55P03' }),
          expect.objectContaining({ sqlstate: '40P01' }),
        ],
      }),
    ]);
  });

  it('gives a held failure up as a query failure once it waited holdMs, and never holds without holdMs', () => {
    const first = convertSpans(decode(batch([failed('d1', 'b1')])), { ...hold, now: 1000 });
    const later = convertSpans(decode(batch([])), { ...hold, held: first.held, now: 16_000 });
    expect(later.held).toEqual([]);
    expect(later.events).toEqual([
      expect.objectContaining({
        kind: 'query_failure',
        job: null,
        failure: expect.objectContaining({ sqlstate: '40P01' }) as unknown,
      }),
    ]);

    const unheld = convertSpans(decode(batch([failed('d1', 'b1')])));
    expect(unheld.held).toEqual([]);
    expect(queryFailures(unheld.events)).toHaveLength(1);
  });

  it('keeps at most maxHeld, giving the oldest up first', () => {
    const first = convertSpans(decode(batch([failed('d1', 'b1', '40P01')])), { ...hold, now: 1000 });
    const second = convertSpans(decode(batch([failed('d2', 'b2', '40001')])), {
      ...hold,
      held: first.held,
      now: 2000,
      maxHeld: 1,
    });
    expect(second.held.map((h: HeldFailure) => h.fallback.failure.sqlstate)).toEqual(['40001']);
    expect(queryFailures(second.events).map((f) => f.failure.sqlstate)).toEqual(['40P01']);
  });
});
