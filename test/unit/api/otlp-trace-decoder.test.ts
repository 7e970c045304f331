import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs/light.js';
import { describe, expect, it } from 'vitest';
import { otlpTraceDescriptor } from '../../../src/api/integrations/otlp/otlp-proto-descriptor.js';
import {
  decodeTraceRequest,
  encodeExportResponse,
  encodeRpcStatus,
  encodeTraceRequestFromJson,
  OtlpDecodeError,
} from '../../../src/api/integrations/otlp/otlp-trace-decoder.js';

const recordedText = readFileSync(
  new URL('../../fixtures/integrations/otlp-node-sdk-deadlock.json', import.meta.url),
  'utf8',
);
const recorded = JSON.parse(recordedText) as unknown;
const root = protobuf.Root.fromJSON(otlpTraceDescriptor);

/**
 * examples/trace.json of https://github.com/open-telemetry/opentelemetry-proto (Apache-2.0,
 * Copyright The OpenTelemetry Authors): upper-case hex ids and times as JSON numbers.
 */
const protoRepoExample = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'my.service' } }] },
      scopeSpans: [
        {
          scope: {
            name: 'my.library',
            version: '1.0.0',
            attributes: [{ key: 'my.scope.attribute', value: { stringValue: 'some scope attribute' } }],
          },
          spans: [
            {
              traceId: '5B8EFFF798038103D269B633813FC60C',
              spanId: 'EEE19B7EC3C1B174',
              parentSpanId: 'EEE19B7EC3C1B173',
              name: "I'm a server span",
              startTimeUnixNano: 1544712660000000000,
              endTimeUnixNano: 1544712661000000000,
              kind: 2,
              attributes: [{ key: 'my.span.attr', value: { stringValue: 'some value' } }],
            },
          ],
        },
      ],
    },
  ],
};

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('decodeTraceRequest', () => {
  it('reads the opentelemetry-proto JSON example', () => {
    const decoded = decodeTraceRequest(json(protoRepoExample), 'json');
    expect(decoded.malformedSpans).toBe(0);
    const rs = decoded.resourceSpans[0]!;
    expect(rs.resource.get('service.name')).toBe('my.service');
    expect(rs.spans[0]).toEqual({
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId: 'eee19b7ec3c1b174',
      parentSpanId: 'eee19b7ec3c1b173',
      name: "I'm a server span",
      kind: 2,
      startNanos: 1544712660000000000n,
      endNanos: 1544712661000000000n,
      attributes: new Map([['my.span.attr', 'some value']]),
      events: [],
      statusCode: 0,
      statusMessage: '',
    });
  });

  it('reads the same spans from protobuf as from JSON (a real export of the OTel Node SDK)', () => {
    const fromJson = decodeTraceRequest(Buffer.from(recordedText), 'json');
    const fromProtobuf = decodeTraceRequest(encodeTraceRequestFromJson(recorded), 'protobuf');
    expect(fromProtobuf).toEqual(fromJson);
    const spans = fromJson.resourceSpans.flatMap((rs) => rs.spans);
    expect(spans.length).toBeGreaterThan(10);
    const failed = spans.find((s) => s.statusCode === 2 && s.name.startsWith('pg.query:UPDATE'))!;
    expect(failed.attributes.get('code.line.number')).toBe(92);
    expect(failed.events[0]?.attributes.get('exception.message')).toBe(
      "PostgreSQL error of type 'error' occurred (code: 40P01)",
    );
    expect(failed.statusMessage).toBe('deadlock detected');
  });

  it('keeps full nanosecond precision (fixed64 beyond 2^53)', () => {
    const request = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                  startTimeUnixNano: '1796064345176000001',
                  endTimeUnixNano: '1796064345721848583',
                },
              ],
            },
          ],
        },
      ],
    };
    for (const [body, encoding] of [
      [json(request), 'json'],
      [encodeTraceRequestFromJson(request), 'protobuf'],
    ] as const) {
      const s = decodeTraceRequest(body, encoding).resourceSpans[0]!.spans[0]!;
      expect(s.endNanos - s.startNanos).toBe(545848582n);
    }
  });

  it('accepts snake_case field names, enum names and intValue as a string', () => {
    const decoded = decodeTraceRequest(
      json({
        resource_spans: [
          {
            scope_spans: [
              {
                spans: [
                  {
                    trace_id: '0af7651916cd43dd8448eb211c80319c',
                    span_id: 'b7ad6b7169203331',
                    kind: 'SPAN_KIND_SERVER',
                    start_time_unix_nano: '1',
                    end_time_unix_nano: '2',
                    attributes: [{ key: 'http.response.status_code', value: { intValue: '500' } }],
                    status: { code: 'STATUS_CODE_ERROR' },
                  },
                ],
              },
            ],
          },
        ],
      }),
      'json',
    );
    expect(decoded.resourceSpans[0]?.spans[0]).toMatchObject({
      kind: 2,
      statusCode: 2,
      parentSpanId: null,
      attributes: new Map([['http.response.status_code', 500]]),
    });
  });

  it('counts malformed spans (ids, times) and says why, keeping the others', () => {
    const good = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      startTimeUnixNano: '1',
      endTimeUnixNano: '2',
    };
    const decoded = decodeTraceRequest(
      json({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  good,
                  { ...good, name: 'short', traceId: 'abc' },
                  { ...good, spanId: 'zzzzzzzzzzzzzzzz' },
                  { ...good, parentSpanId: '01' },
                  { ...good, endTimeUnixNano: '0' },
                  { ...good, startTimeUnixNano: 'yesterday' },
                  'not a span',
                ],
              },
            ],
          },
        ],
      }),
      'json',
    );
    expect(decoded.resourceSpans[0]?.spans).toHaveLength(1);
    expect(decoded.malformedSpans).toBe(6);
    expect(decoded.problems).toHaveLength(5);
    expect(decoded.problems[0]).toBe('span "short": traceId must be 16 bytes (32 hex digits in JSON)');
  });

  it('refuses a body that is not an ExportTraceServiceRequest, naming what is wrong', () => {
    const refused = (body: Uint8Array, encoding: 'json' | 'protobuf'): string => {
      try {
        decodeTraceRequest(body, encoding);
      } catch (error) {
        expect(error).toBeInstanceOf(OtlpDecodeError);
        return (error as Error).message;
      }
      throw new Error('decoded');
    };
    expect(refused(Buffer.from('{"resourceSpans": ['), 'json')).toMatch(/^the body is not JSON \(/);
    expect(refused(json([1, 2]), 'json')).toMatch(/expected an object with "resourceSpans"/);
    expect(refused(json({ resourceSpans: 'all of them' }), 'json')).toMatch(
      /"resourceSpans" must be an array/,
    );
    expect(refused(Buffer.from('not protobuf'), 'protobuf')).toMatch(
      /^the body is not a protobuf ExportTraceServiceRequest \(/,
    );
    // A JSON body sent as protobuf.
    expect(refused(Buffer.from(recordedText), 'protobuf')).toMatch(
      /not a protobuf ExportTraceServiceRequest/,
    );
  });

  it('reads an empty request as no spans', () => {
    expect(decodeTraceRequest(new Uint8Array(0), 'protobuf')).toEqual({
      resourceSpans: [],
      malformedSpans: 0,
      problems: [],
    });
    expect(decodeTraceRequest(json({}), 'json')).toEqual({
      resourceSpans: [],
      malformedSpans: 0,
      problems: [],
    });
  });
});

describe('OTLP replies', () => {
  it('ExportTraceServiceResponse: empty on full success, partialSuccess otherwise (int64 as a string in JSON)', () => {
    expect(encodeExportResponse('json', null)).toBe('{}');
    expect(encodeExportResponse('protobuf', null)).toHaveLength(0);
    expect(
      JSON.parse(encodeExportResponse('json', { rejectedSpans: 2, errorMessage: 'bad ids' }) as string),
    ).toEqual({ partialSuccess: { rejectedSpans: '2', errorMessage: 'bad ids' } });
    const type = root.lookupType('ExportTraceServiceResponse');
    const decoded = type.toObject(
      type.decode(
        encodeExportResponse('protobuf', { rejectedSpans: 2, errorMessage: 'bad ids' }) as Uint8Array,
      ),
      { longs: Number },
    );
    expect(decoded).toEqual({ partialSuccess: { rejectedSpans: 2, errorMessage: 'bad ids' } });
  });

  it('google.rpc.Status for errors', () => {
    expect(JSON.parse(encodeRpcStatus('json', 3, 'bad body') as string)).toEqual({
      code: 3,
      message: 'bad body',
    });
    const type = root.lookupType('RpcStatus');
    expect(type.toObject(type.decode(encodeRpcStatus('protobuf', 3, 'bad body') as Uint8Array))).toEqual({
      code: 3,
      message: 'bad body',
    });
  });
});
