import protobuf from 'protobufjs/light.js';
import { otlpTraceDescriptor } from './otlp-proto-descriptor.js';

/**
 * OTLP/HTTP trace bodies (protobuf or JSON) read into one plain shape, and the replies OTLP expects.
 * Both encodings go through the same reader: protobuf is decoded by protobufjs and turned into a
 * plain object (64-bit integers as BigInt, ids as bytes); JSON follows the OTLP JSON mapping
 * (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding: ids as hex, 64-bit integers as
 * decimal strings, enums as integers, field names in lowerCamelCase — snake_case accepted too).
 * A body that is not an ExportTraceServiceRequest at all throws `OtlpDecodeError` (400); a span that
 * is malformed inside a good body is counted and reported back as rejected (partial success).
 */

export type OtlpEncoding = 'protobuf' | 'json';

/** An attribute value; arrays, key-value lists and bytes are not needed here and read as null. */
export type OtlpValue = string | number | boolean | null;

export type OtlpAttributes = ReadonlyMap<string, OtlpValue>;

export interface OtlpSpanEvent {
  readonly name: string;
  readonly attributes: OtlpAttributes;
}

/** Span.SpanKind. */
export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
/** Status.StatusCode. */
export const STATUS_CODE_ERROR = 2;

export interface OtlpSpan {
  /** Lower-case hex, 32 characters. */
  readonly traceId: string;
  /** Lower-case hex, 16 characters. */
  readonly spanId: string;
  /** Null for a root span. */
  readonly parentSpanId: string | null;
  readonly name: string;
  readonly kind: number;
  readonly startNanos: bigint;
  readonly endNanos: bigint;
  readonly attributes: OtlpAttributes;
  readonly events: readonly OtlpSpanEvent[];
  readonly statusCode: number;
  readonly statusMessage: string;
}

export interface OtlpResourceSpans {
  readonly resource: OtlpAttributes;
  readonly spans: readonly OtlpSpan[];
}

export interface DecodedTraces {
  readonly resourceSpans: readonly OtlpResourceSpans[];
  /** Spans left out because they were malformed (bad ids or times). */
  readonly malformedSpans: number;
  /** What was wrong with the first few of them. */
  readonly problems: readonly string[];
}

/** The body is not an ExportTraceServiceRequest in the encoding it claims. */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

const root = protobuf.Root.fromJSON(otlpTraceDescriptor);
const requestType = root.lookupType('ExportTraceServiceRequest');
const responseType = root.lookupType('ExportTraceServiceResponse');
const statusType = root.lookupType('RpcStatus');

const MAX_PROBLEMS = 5;

type Obj = Readonly<Record<string, unknown>>;

const isObj = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** A field by its lowerCamelCase name or, as protobuf JSON parsers also accept, its proto name. */
const field = (o: Obj, camel: string, snake?: string): unknown =>
  Object.hasOwn(o, camel) ? o[camel] : snake !== undefined && Object.hasOwn(o, snake) ? o[snake] : undefined;

const list = (o: Obj, camel: string, snake?: string): readonly unknown[] => {
  const v = field(o, camel, snake);
  return Array.isArray(v) ? v : [];
};

const HEX = /^[0-9a-fA-F]*$/;

/** An id as lower-case hex of `bytes` bytes; '' for an absent or empty one; null when malformed. */
const readId = (v: unknown, bytes: number): string | null => {
  if (v === undefined || v === null) return '';
  if (v instanceof Uint8Array) {
    if (v.length === 0) return '';
    return v.length === bytes ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : null;
  }
  if (typeof v !== 'string') return null;
  if (v === '') return '';
  return v.length === bytes * 2 && HEX.test(v) ? v.toLowerCase() : null;
};

const DIGITS = /^\d{1,20}$/;

/** A fixed64/uint64 time in nanoseconds: BigInt (protobuf), a decimal string or a number (JSON). */
const readNanos = (v: unknown): bigint | null => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string' && DIGITS.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  return null;
};

const readInt = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return Number(v);
  return null;
};

const KIND_NAMES: Readonly<Record<string, number>> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_NAMES: Readonly<Record<string, number>> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

/** An enum: an integer (the mapping's rule) or, leniently, its name. */
const readEnum = (v: unknown, names: Readonly<Record<string, number>>): number => {
  if (typeof v === 'string' && Object.hasOwn(names, v)) return names[v] ?? 0;
  return readInt(v) ?? 0;
};

const readValue = (v: unknown): OtlpValue => {
  if (!isObj(v)) return null;
  const s = field(v, 'stringValue', 'string_value');
  if (typeof s === 'string') return s;
  const b = field(v, 'boolValue', 'bool_value');
  if (typeof b === 'boolean') return b;
  const i = readInt(field(v, 'intValue', 'int_value'));
  if (i !== null) return i;
  const d = field(v, 'doubleValue', 'double_value');
  if (typeof d === 'number') return d;
  return null;
};

const readAttributes = (items: readonly unknown[]): Map<string, OtlpValue> => {
  const attributes = new Map<string, OtlpValue>();
  for (const item of items) {
    if (!isObj(item)) continue;
    const key = field(item, 'key');
    if (typeof key === 'string') attributes.set(key, readValue(field(item, 'value')));
  }
  return attributes;
};

type SpanResult = { readonly span: OtlpSpan } | { readonly problem: string };

const readSpan = (s: unknown): SpanResult => {
  if (!isObj(s)) return { problem: 'a span is not an object' };
  const traceId = readId(field(s, 'traceId', 'trace_id'), 16);
  const spanId = readId(field(s, 'spanId', 'span_id'), 8);
  const parentSpanId = readId(field(s, 'parentSpanId', 'parent_span_id'), 8);
  const name = field(s, 'name');
  const label = `span ${typeof name === 'string' ? JSON.stringify(name.slice(0, 80)) : '(no name)'}`;
  if (traceId === null || traceId === '')
    return { problem: `${label}: traceId must be 16 bytes (32 hex digits in JSON)` };
  if (spanId === null || spanId === '')
    return { problem: `${label}: spanId must be 8 bytes (16 hex digits in JSON)` };
  if (parentSpanId === null)
    return { problem: `${label}: parentSpanId must be empty or 8 bytes (16 hex digits in JSON)` };
  const startNanos = readNanos(field(s, 'startTimeUnixNano', 'start_time_unix_nano'));
  const endNanos = readNanos(field(s, 'endTimeUnixNano', 'end_time_unix_nano'));
  if (startNanos === null || endNanos === null || endNanos < startNanos) {
    return {
      problem: `${label}: startTimeUnixNano and endTimeUnixNano must be nanoseconds since the epoch (decimal strings in JSON), end not before start`,
    };
  }
  const status = field(s, 'status');
  const events: OtlpSpanEvent[] = [];
  for (const e of list(s, 'events')) {
    if (!isObj(e)) continue;
    const eventName = field(e, 'name');
    events.push({
      name: typeof eventName === 'string' ? eventName : '',
      attributes: readAttributes(list(e, 'attributes')),
    });
  }
  const statusMessage = isObj(status) ? field(status, 'message') : undefined;
  return {
    span: {
      traceId,
      spanId,
      parentSpanId: parentSpanId === '' ? null : parentSpanId,
      name: typeof name === 'string' ? name : '',
      kind: readEnum(field(s, 'kind'), KIND_NAMES),
      startNanos,
      endNanos,
      attributes: readAttributes(list(s, 'attributes')),
      events,
      statusCode: isObj(status) ? readEnum(field(status, 'code'), STATUS_NAMES) : 0,
      statusMessage: typeof statusMessage === 'string' ? statusMessage : '',
    },
  };
};

/** The plain request object (from either encoding) → resource spans, malformed spans counted. */
const readRequest = (request: unknown): DecodedTraces => {
  if (!isObj(request))
    throw new OtlpDecodeError(
      'the body is not an ExportTraceServiceRequest: expected an object with "resourceSpans"',
    );
  const rawResourceSpans = field(request, 'resourceSpans', 'resource_spans');
  if (rawResourceSpans !== undefined && !Array.isArray(rawResourceSpans)) {
    throw new OtlpDecodeError(
      'the body is not an ExportTraceServiceRequest: "resourceSpans" must be an array',
    );
  }
  const resourceSpans: OtlpResourceSpans[] = [];
  const problems: string[] = [];
  let malformedSpans = 0;
  for (const rs of (rawResourceSpans ?? []) as readonly unknown[]) {
    if (!isObj(rs))
      throw new OtlpDecodeError(
        'the body is not an ExportTraceServiceRequest: each of "resourceSpans" must be an object',
      );
    const resource = field(rs, 'resource');
    const spans: OtlpSpan[] = [];
    for (const ss of list(rs, 'scopeSpans', 'scope_spans')) {
      if (!isObj(ss)) continue;
      for (const raw of list(ss, 'spans')) {
        const result = readSpan(raw);
        if ('span' in result) spans.push(result.span);
        else {
          malformedSpans += 1;
          if (problems.length < MAX_PROBLEMS) problems.push(result.problem);
        }
      }
    }
    resourceSpans.push({
      resource: readAttributes(isObj(resource) ? list(resource, 'attributes') : []),
      spans,
    });
  }
  return { resourceSpans, malformedSpans, problems };
};

/** Decodes a whole (already inflated) body; throws `OtlpDecodeError` when it is not a trace export request. */
export function decodeTraceRequest(body: Uint8Array, encoding: OtlpEncoding): DecodedTraces {
  if (encoding === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    } catch (cause) {
      throw new OtlpDecodeError(
        `the body is not JSON (${cause instanceof Error ? cause.message : String(cause)})`,
      );
    }
    return readRequest(parsed);
  }
  let message: protobuf.Message;
  try {
    message = requestType.decode(body);
  } catch (cause) {
    throw new OtlpDecodeError(
      `the body is not a protobuf ExportTraceServiceRequest (${cause instanceof Error ? cause.message : String(cause)})`,
    );
  }
  return readRequest(requestType.toObject(message, { longs: BigInt, defaults: false }));
}

/** ExportTraceServiceResponse: empty when every span was taken, else `partialSuccess`. */
export function encodeExportResponse(
  encoding: OtlpEncoding,
  partial: { readonly rejectedSpans: number; readonly errorMessage: string } | null,
): Uint8Array | string {
  if (encoding === 'json') {
    // The JSON mapping writes int64 as a decimal string.
    return JSON.stringify(
      partial === null
        ? {}
        : {
            partialSuccess: {
              rejectedSpans: String(partial.rejectedSpans),
              errorMessage: partial.errorMessage,
            },
          },
    );
  }
  return responseType
    .encode(responseType.fromObject(partial === null ? {} : { partialSuccess: partial }))
    .finish();
}

/** google.rpc.Status, the body of an OTLP/HTTP error reply. `code` is a gRPC code (3 invalid argument, 16 unauthenticated…). */
export function encodeRpcStatus(encoding: OtlpEncoding, code: number, message: string): Uint8Array | string {
  if (encoding === 'json') return JSON.stringify({ code, message });
  return statusType.encode(statusType.fromObject({ code, message })).finish();
}

/** For tests and tools: an ExportTraceServiceRequest in the OTLP JSON shape → protobuf bytes. */
export function encodeTraceRequestFromJson(request: unknown): Uint8Array {
  const hexToBase64 = (key: string, value: unknown): unknown =>
    (key === 'traceId' || key === 'spanId' || key === 'parentSpanId') && typeof value === 'string'
      ? Buffer.from(value, 'hex').toString('base64')
      : value;
  // protobuf JSON (what fromObject reads) carries bytes as base64, OTLP JSON carries ids as hex.
  const converted = JSON.parse(JSON.stringify(request), hexToBase64) as Record<string, unknown>;
  return requestType.encode(requestType.fromObject(converted)).finish();
}
