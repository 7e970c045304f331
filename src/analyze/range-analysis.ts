import { createLogReader, type LogReader } from '../postgres-log/log-reader.js';
import type { LogFormat } from '../postgres-log/log-format.js';
import type { SyslogYear } from '../postgres-log/syslog-parser.js';
import type { LogTimezone } from '../postgres-log/log-timezone.js';
import type { LogReaderStats } from '../postgres-log/reader-stats.js';
import type { LogEvent } from '../core/log-event.js';
import type { AnalysisState } from './analysis-state.js';
import { LogAggregator, type CountMode } from './log-aggregator.js';
import { readInput, uncompressedSize, type LogInput } from './log-input.js';
import { observe } from './observation-mapper.js';

/** The time window of `--since/--until` (epoch ms, null = open). */
export interface TimeWindow {
  readonly since: number | null;
  readonly until: number | null;
}

/**
 * One byte range of a plain file: `[start, end)` is counted; `[lookbackStart, start)` only gives
 * context (open waits, what each pid last ran), `[end, lookaheadEnd)` only closes the waits the
 * range opened. All offsets are entry starts.
 */
export interface RangeJob {
  readonly kind?: 'range';
  readonly input: LogInput;
  readonly format: LogFormat | 'auto';
  readonly prefix: string | null;
  readonly lookbackStart: number;
  readonly start: number;
  readonly end: number;
  readonly lookaheadEnd: number;
  readonly window: TimeWindow;
  /** A detected prefix that did not read every line of the file's head (told once, by its first range). */
  readonly prefixDoubt?: string;
}

/**
 * A whole file read as a stream (gzip cannot be read from the middle): counted; or read only for
 * context — its last `bytes` of text, what comes before is decompressed and dropped; or only
 * until the waits open before it have ended (`finish`), at most its first `bytes` of text.
 */
export interface StreamJob {
  readonly kind: 'stream';
  readonly input: LogInput;
  readonly format: LogFormat | 'auto';
  readonly prefix: string | null;
  readonly mode: CountMode;
  readonly bytes?: number;
  readonly window: TimeWindow;
}

/** What a worker reads, in order, into one aggregate. */
export type ShareJob = RangeJob | StreamJob;

/** What was read from one range: reader stats of the counted part, and what was noticed. */
export interface RangePart {
  /** The input's name (its path, or `stdin`). */
  readonly name: string;
  readonly stats: LogReaderStats;
  /** Entries read in the counted part (whatever the window). */
  readonly entries: number;
  readonly format: LogFormat | null;
  readonly prefix: string | null;
  readonly warnings: readonly string[];
}

/** What one worker read: a sequence of ranges (consecutive files) counted into one state. */
export interface RangesResult {
  readonly state: AnalysisState;
  readonly parts: readonly RangePart[];
}

const modeFor = (segment: CountMode, event: LogEvent, window: TimeWindow): CountMode => {
  if (segment !== 'count' || event.at === null) return segment;
  if (window.since !== null && event.at < window.since) return 'context';
  if (window.until !== null && event.at >= window.until) return 'finish';
  return 'count';
};

/** How often (in chunks of 64 KB: every 4 MB) the aggregator copies what it keeps out of the reader's text. */
const COMPACT_EVERY = 64;

/** Feeds events to the aggregator; returns how many there were. */
const feed = (
  events: readonly LogEvent[],
  aggregator: LogAggregator,
  segment: CountMode,
  window: TimeWindow,
): number => {
  for (const event of events) aggregator.observe(observe(event), modeFor(segment, event, window));
  return events.length;
};

/**
 * Reads a chunk in slices of at most 64 KB (a stream may hand over more), feeding each slice's
 * events before reading the next: the events of a whole 1 MB chunk held at once outlive
 * young-generation collections and get copied and promoted; a slice's few hundred die young.
 */
const SLICE = 64 * 1024;
const pushChunk = (
  reader: LogReader,
  chunk: Buffer,
  aggregator: LogAggregator,
  segment: CountMode,
  window: TimeWindow,
): number => {
  let entries = 0;
  for (let at = 0; at < chunk.length; at += SLICE)
    entries += feed(reader.push(chunk.subarray(at, at + SLICE)), aggregator, segment, window);
  return entries;
};

const subtract = (after: LogReaderStats, before: LogReaderStats): LogReaderStats => ({
  ...after,
  bytes: after.bytes - before.bytes,
  lines: after.lines - before.lines,
  events: after.events - before.events,
  truncated: after.truncated - before.truncated,
  nonEnglishSeverities: after.nonEnglishSeverities - before.nonEnglishSeverities,
  skipped: Object.fromEntries(
    Object.entries(after.skipped).map(([k, n]) => [
      k,
      n - before.skipped[k as keyof LogReaderStats['skipped']],
    ]),
  ) as LogReaderStats['skipped'],
});

/**
 * Analyzes ranges of plain files in order with one aggregator — a worker's share of a file, or of
 * several rotated files in a row, so that a wait open at the end of one file ends in the next.
 */
export async function analyzeRanges(
  jobs: readonly ShareJob[],
  onBytes?: (n: number) => void,
): Promise<RangesResult> {
  const aggregator = new LogAggregator();
  const parts: RangePart[] = [];
  for (const job of jobs) {
    if (job.kind !== 'stream') parts.push(await readRange(job, aggregator, onBytes));
    else if (job.mode === 'count')
      parts.push(await readStream(job.input, { ...job, aggregator, ...(onBytes ? { onBytes } : {}) }));
    else await readAround(job, aggregator);
  }
  return { state: aggregator.finish(), parts };
}

/** The year of a syslog file's `Mon DD` timestamps and the log's time zone, when the input knows them. */
const yearOf = (input: LogInput): { year?: SyslogYear; timezone?: LogTimezone } => ({
  ...(input.syslogYear === undefined ? {} : { year: input.syslogYear }),
  ...(input.logTimezone === undefined ? {} : { timezone: input.logTimezone }),
});

/** A stream job that is not counted: the end of a file for context, or the start of one to close waits. */
async function readAround(job: StreamJob, aggregator: LogAggregator): Promise<void> {
  const reader = createLogReader({
    format: job.format,
    ...(job.prefix === null ? {} : { prefix: job.prefix }),
    ...yearOf(job.input),
  });
  const limit = job.bytes ?? Number.POSITIVE_INFINITY;
  const skip = job.mode === 'context' ? Math.max(0, (await uncompressedSize(job.input)) - limit) : 0;
  let seen = 0;
  for await (const chunk of readInput(job.input)) {
    if (job.mode === 'finish' && (!aggregator.hasOpenWaits() || seen >= limit)) return;
    seen += chunk.length;
    if (seen <= skip) continue;
    // The first line after a skip is cut: the reader counts it as unmatched, in stats nobody reads.
    pushChunk(
      reader,
      seen - chunk.length < skip ? chunk.subarray(skip - (seen - chunk.length)) : chunk,
      aggregator,
      job.mode,
      job.window,
    );
  }
  feed(job.mode === 'context' ? reader.flush() : reader.end(), aggregator, job.mode, job.window);
}

/** One range of a plain file (see `analyzeRanges`). */
async function readRange(
  job: RangeJob,
  aggregator: LogAggregator,
  onBytes?: (n: number) => void,
): Promise<RangePart> {
  const reader = createLogReader({
    format: job.format,
    ...(job.prefix === null ? {} : { prefix: job.prefix }),
    ...yearOf(job.input),
  });
  const warnings: string[] = job.start === 0 && job.prefixDoubt !== undefined ? [job.prefixDoubt] : [];
  if (job.lookbackStart < job.start) {
    for await (const chunk of readInput(job.input, { start: job.lookbackStart, end: job.start }))
      pushChunk(reader, chunk, aggregator, 'context', job.window);
    feed(reader.flush(), aggregator, 'context', job.window);
  }
  const before = reader.stats;
  let entries = 0;
  let chunks = 0;
  // An empty counted part: a range that only gives context, or only closes waits (a share of
  // rotated files cut where a file begins).
  if (job.start < job.end) {
    for await (const chunk of readInput(job.input, {
      start: job.start,
      end: job.end,
      onWarning: (w) => warnings.push(w),
    })) {
      entries += pushChunk(reader, chunk, aggregator, 'count', job.window);
      onBytes?.(chunk.length);
      if (++chunks % COMPACT_EVERY === 0) aggregator.compact();
    }
    entries += feed(
      job.end < job.lookaheadEnd ? reader.flush() : reader.end(),
      aggregator,
      'count',
      job.window,
    );
  }
  const stats = subtract(reader.stats, before);
  if (job.end < job.lookaheadEnd && aggregator.hasOpenWaits()) {
    for await (const chunk of readInput(job.input, { start: job.end, end: job.lookaheadEnd })) {
      pushChunk(reader, chunk, aggregator, 'finish', job.window);
      if (!aggregator.hasOpenWaits()) break;
    }
  }
  return { name: job.input.name, stats, entries, format: reader.format, prefix: reader.prefix, warnings };
}

/** Analyzes a whole input as a stream (stdin, gzip, small files), continuing `aggregator`. */
export const analyzeStream = (
  input: LogInput,
  options: {
    readonly format: LogFormat | 'auto';
    readonly prefix: string | null;
    readonly window: TimeWindow;
    readonly aggregator: LogAggregator;
    readonly onBytes?: (n: number) => void;
  },
): Promise<RangePart> => readStream(input, options);

async function readStream(
  input: LogInput,
  options: {
    readonly format: LogFormat | 'auto';
    readonly prefix: string | null;
    readonly window: TimeWindow;
    readonly aggregator: LogAggregator;
    readonly onBytes?: (n: number) => void;
  },
): Promise<RangePart> {
  const reader: LogReader = createLogReader({
    format: options.format,
    ...(options.prefix === null ? {} : { prefix: options.prefix }),
    ...yearOf(input),
  });
  const warnings: string[] = [];
  let entries = 0;
  const onRawBytes = options.onBytes;
  let chunks = 0;
  for await (const chunk of readInput(input, {
    onWarning: (w) => warnings.push(w),
    ...(onRawBytes ? { onRawBytes } : {}),
  })) {
    entries += pushChunk(reader, chunk, options.aggregator, 'count', options.window);
    if (++chunks % COMPACT_EVERY === 0) options.aggregator.compact();
  }
  entries += feed(reader.end(), options.aggregator, 'count', options.window);
  if (reader.prefixDoubt !== null) warnings.unshift(reader.prefixDoubt);
  return {
    name: input.name,
    stats: reader.stats,
    entries,
    format: reader.format,
    prefix: reader.prefix,
    warnings,
  };
}
