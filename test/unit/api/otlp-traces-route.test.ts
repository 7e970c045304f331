import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs/light.js';
import { describe, expect, it } from 'vitest';
import { otlpTraceDescriptor } from '../../../src/api/integrations/otlp/otlp-proto-descriptor.js';
import { encodeTraceRequestFromJson } from '../../../src/api/integrations/otlp/otlp-trace-decoder.js';
import { createOtlpReceiver } from '../../support/otlp-receiver.js';

const recordedText = readFileSync(
  new URL('../../fixtures/integrations/otlp-node-sdk-deadlock.json', import.meta.url),
  'utf8',
);
const recordedProtobuf = encodeTraceRequestFromJson(JSON.parse(recordedText));
const root = protobuf.Root.fromJSON(otlpTraceDescriptor);
const decodeAs = (type: string, body: ArrayBuffer): unknown => {
  const t = root.lookupType(type);
  return t.toObject(t.decode(new Uint8Array(body)), { longs: Number });
};

type Receiver = Awaited<ReturnType<typeof createOtlpReceiver>>;

const post = (
  r: Receiver,
  body: Uint8Array | string,
  headers: Record<string, string>,
  token: string | null = r.secrets.ingest,
) =>
  r.app.request('/v1/traces', {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers: { ...headers, ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
  });

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

/** Two spans no converter can read: a malformed id and a server span without its status code. */
const partlyBad = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
      scopeSpans: [
        {
          spans: [
            {
              traceId: 'abc',
              spanId: 'b7ad6b7169203331',
              name: 'bad id',
              startTimeUnixNano: '1',
              endTimeUnixNano: '2',
            },
            {
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: 'b7ad6b7169203331',
              name: 'GET',
              kind: 2,
              startTimeUnixNano: '1000000',
              endTimeUnixNano: '2000000',
              attributes: [{ key: 'http.request.method', value: { stringValue: 'GET' } }],
            },
            {
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: 'b7ad6b7169203332',
              name: 'GET',
              kind: 2,
              startTimeUnixNano: '1000000',
              endTimeUnixNano: '2000000',
              attributes: [
                { key: 'http.request.method', value: { stringValue: 'GET' } },
                { key: 'http.response.status_code', value: { intValue: '200' } },
              ],
            },
          ],
        },
      ],
    },
  ],
};

describe('POST /v1/traces', () => {
  it('takes a protobuf export and answers an empty ExportTraceServiceResponse in protobuf', async () => {
    const r = await createOtlpReceiver();
    const reply = await post(r, recordedProtobuf, PROTO);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await reply.arrayBuffer()).byteLength).toBe(0);
    expect(r.received.batches).toHaveLength(1);
    expect(r.received.batches[0]?.receivedAt).toBe(r.clock.now());
    expect(r.received.events.map((e) => e.kind)).toEqual(['query_failure', 'request', 'request']);
  });

  it('takes gzip JSON (charset in the content type) and answers {} in JSON', async () => {
    const r = await createOtlpReceiver();
    const reply = await post(r, gzipSync(recordedText), {
      'content-type': 'application/json; charset=utf-8',
      'content-encoding': 'gzip',
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json');
    expect(await reply.json()).toEqual({});
    expect(r.received.events).toHaveLength(3);
  });

  it('answers partialSuccess with the rejected spans and why, in the request’s encoding, and keeps the good ones', async () => {
    const r = await createOtlpReceiver();
    const jsonReply = await post(r, JSON.stringify(partlyBad), JSON_TYPE);
    expect(jsonReply.status).toBe(200);
    const body = (await jsonReply.json()) as {
      partialSuccess: { rejectedSpans: string; errorMessage: string };
    };
    expect(body.partialSuccess.rejectedSpans).toBe('2');
    expect(body.partialSuccess.errorMessage).toBe(
      'span "bad id": traceId must be 16 bytes (32 hex digits in JSON); server span "GET": no http.response.status_code (or http.status_code) between 100 and 599',
    );
    expect(r.received.events).toEqual([expect.objectContaining({ kind: 'request', status: 200 })]);

    const protoReply = await post(
      r,
      encodeTraceRequestFromJson({ resourceSpans: [partlyBad.resourceSpans[0]!] }),
      PROTO,
    );
    expect(protoReply.status).toBe(200);
    expect(decodeAs('ExportTraceServiceResponse', await protoReply.arrayBuffer())).toEqual({
      partialSuccess: {
        rejectedSpans: 2,
        errorMessage: expect.stringContaining('traceId must be 16 bytes') as string,
      },
    });
  });

  it('refuses, as POST /api/v1/events does, spans over an hour ahead of the server clock (a sender with a wrong clock)', async () => {
    const r = await createOtlpReceiver();
    r.clock.set(Date.parse('2026-11-30T17:40:00Z'));
    const reply = await post(r, recordedText, JSON_TYPE);
    const body = (await reply.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedSpans).toBe('3');
    expect(body.partialSuccess.errorMessage).toMatch(
      /^service shop: a span's at: 1796064345\d{3} is more than an hour ahead of the server's clock; check the sender's clock; /,
    );
    expect(r.received.batches).toEqual([]);
  });

  it('hands nothing on when no span makes an event (an empty export)', async () => {
    const r = await createOtlpReceiver();
    expect((await post(r, '{}', JSON_TYPE)).status).toBe(200);
    expect((await post(r, new Uint8Array(0), PROTO)).status).toBe(200);
    expect(r.received.batches).toEqual([]);
  });

  it('answers 400 with a google.rpc.Status in the request’s encoding for a body that does not decode', async () => {
    const r = await createOtlpReceiver();
    const json = await post(r, '{"resourceSpans": [', JSON_TYPE);
    expect(json.status).toBe(400);
    expect(await json.json()).toEqual({
      code: 3,
      message: expect.stringMatching(/^the body is not JSON/) as string,
    });

    const proto = await post(r, 'not protobuf', PROTO);
    expect(proto.status).toBe(400);
    expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeAs('RpcStatus', await proto.arrayBuffer())).toEqual({
      code: 3,
      message: expect.stringMatching(/^the body is not a protobuf ExportTraceServiceRequest/) as string,
    });

    const badGzip = await post(r, 'not gzip', { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(badGzip.status).toBe(400);
    expect(((await badGzip.json()) as { message: string }).message).toMatch(/^the body is not valid gzip/);
    expect(r.received.batches).toEqual([]);
  });

  it('answers 415 for another content type or encoding, saying what to send', async () => {
    const r = await createOtlpReceiver();
    const text = await post(r, 'hello', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(await text.json()).toEqual({
      code: 12,
      message: expect.stringContaining('send application/x-protobuf or application/json') as string,
    });
    const none = await post(r, recordedProtobuf, {});
    expect(none.status).toBe(415);
    const brotli = await post(r, recordedProtobuf, { ...PROTO, 'content-encoding': 'br' });
    expect(brotli.status).toBe(415);
    expect(decodeAs('RpcStatus', await brotli.arrayBuffer())).toEqual({
      code: 12,
      message: 'content encoding "br" is not supported: send gzip or no compression',
    });
  });

  it('answers 413 over the limit, on the wire and once inflated', async () => {
    const r = await createOtlpReceiver({ maxBodyBytes: 4096 });
    const big = JSON.stringify({ resourceSpans: [], padding: 'x'.repeat(10_000) });
    const wire = await post(r, big, JSON_TYPE);
    expect(wire.status).toBe(413);
    expect(((await wire.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');

    // 10 kB that gzip to a few dozen bytes: a small request that would inflate past the limit.
    const bomb = gzipSync(big);
    expect(bomb.length).toBeLessThan(4096);
    const inflated = await post(r, bomb, { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(inflated.status).toBe(413);
    expect(await inflated.json()).toEqual({
      code: 8,
      message:
        'the body inflates to more than 4096 bytes; export smaller batches (BatchSpanProcessor maxExportBatchSize)',
    });

    const fits = await post(r, gzipSync(JSON.stringify({ resourceSpans: [] })), {
      ...JSON_TYPE,
      'content-encoding': 'gzip',
    });
    expect(fits.status).toBe(200);
    expect(r.received.batches).toEqual([]);
  });

  it('needs a token of role ingest (or responder, admin): 401 without or with an unknown one, 403 for a viewer', async () => {
    const r = await createOtlpReceiver();
    const without = await post(r, recordedProtobuf, PROTO, null);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toContain('Bearer');
    expect((await post(r, recordedProtobuf, PROTO, 'not-a-token')).status).toBe(401);
    expect((await post(r, recordedProtobuf, PROTO, r.secrets.viewer)).status).toBe(403);
    expect(r.received.batches).toEqual([]);
    expect((await post(r, recordedProtobuf, PROTO)).status).toBe(200);
  });

  it('joins a failed statement to its request when the server span comes in the next export, and gives it up after 15 s', async () => {
    const r = await createOtlpReceiver();
    const at = (ms: number) => String(1_764_527_000_000_000_000n + BigInt(ms) * 1_000_000n);
    const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] };
    const pgSpan = (spanId: string, parentSpanId: string) => ({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId,
      parentSpanId,
      name: 'pg.query:UPDATE',
      kind: 3,
      startTimeUnixNano: at(1),
      endTimeUnixNano: at(2),
      attributes: [
        { key: 'db.system.name', value: { stringValue: 'postgresql' } },
        { key: 'db.response.status_code', value: { stringValue: '40P01' } },
      ],
      status: { code: 2 },
    });
    const serverSpan = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'a000000000000001',
      name: 'POST',
      kind: 2,
      startTimeUnixNano: at(0),
      endTimeUnixNano: at(3),
      attributes: [
        { key: 'http.request.method', value: { stringValue: 'POST' } },
        { key: 'http.route', value: { stringValue: '/checkout' } },
        { key: 'http.response.status_code', value: { intValue: 500 } },
      ],
    };
    const exportOf = (spans: unknown[]) =>
      JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ spans }] }] });

    expect(
      (await post(r, exportOf([pgSpan('d000000000000001', 'a000000000000001')]), JSON_TYPE)).status,
    ).toBe(200);
    expect(r.received.events).toEqual([]);
    r.clock.advance(5000);
    await post(r, exportOf([serverSpan]), JSON_TYPE);
    expect(r.received.events).toEqual([
      expect.objectContaining({
        kind: 'request',
        status: 500,
        sqlFailures: [expect.objectContaining({ sqlstate: '40P01' })],
      }),
    ]);

    // A failure whose request never comes.
    await post(r, exportOf([pgSpan('d000000000000002', 'a000000000000009')]), JSON_TYPE);
    r.clock.advance(14_999);
    await post(r, '{}', JSON_TYPE);
    expect(r.received.events).toHaveLength(1);
    r.clock.advance(1);
    await post(r, '{}', JSON_TYPE);
    expect(r.received.events.map((e) => e.kind)).toEqual(['request', 'query_failure']);
  });
});
