import { open } from 'node:fs/promises';
import { detectLogFormat, type LogFormat } from '../postgres-log/log-format.js';
import { describePrefixDoubt, detectLinePrefix } from '../postgres-log/prefix-detect.js';
import { AMBIGUOUS_ZONES } from '../postgres-log/log-timezone.js';
import { rdsPortionText } from '../postgres-log/rds-portion.js';
import { envelopedText } from '../postgres-log/log-reader.js';
import type { LogReaderStats } from '../postgres-log/reader-stats.js';
import { userError } from '../core/errors.js';
import { buildReport, type AnalysisReport, type InputSummary } from './analysis-report.js';
import { createState, mergeState } from './analysis-state.js';
import type { AnalyzeOptions } from '../config/analyze-options.js';
import { entryStartTest, findEntryStart } from './entry-boundaries.js';
import { LogAggregator } from './log-aggregator.js';
import { describeInput, uncompressedSize, type LogInput } from './log-input.js';
import { findTwins, twinNotes } from './log-twins.js';
import { ProgressBar } from './progress-bar.js';
import {
  analyzeRanges,
  analyzeStream,
  type RangeJob,
  type RangePart,
  type ShareJob,
  type TimeWindow,
} from './range-analysis.js';
import { runRangeWorkers } from './range-workers.js';
import { formatCount } from './report-format.js';

/** Plain files at least this big are split into byte ranges read by worker threads. */
const SPLIT_MIN_BYTES = 48 * 1024 * 1024;
/** How far before its range a worker reads for context, and after it to close its waits. */
const LOOKBACK_BYTES = 8 * 1024 * 1024;
const LOOKAHEAD_BYTES = 16 * 1024 * 1024;
/** PostgreSQL logs shrink about this much in gzip: a run of .gz files is shared out from SPLIT_MIN_BYTES / this. */
const GZIP_RATIO = 8;

export interface AnalyzeIo {
  readonly stderr: NodeJS.WriteStream;
  /** Plain files at least this big are split across worker threads (tests lower it). */
  readonly splitMinBytes?: number;
}

async function readHead(path: string, bytes = 256 * 1024): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** A plain file (not gzip, not stdin): it can be read in byte ranges. */
type PlainInput = LogInput & { readonly path: string; readonly size: number };

const isPlain = (input: LogInput): input is PlainInput =>
  input.path !== null && !input.gzip && input.size !== null;

/** Where a run of files is cut: a file, and an entry start in it. */
interface Cut {
  readonly file: number;
  readonly offset: number;
}

const before = (a: Cut, b: Cut): boolean => a.file < b.file || (a.file === b.file && a.offset < b.offset);

/**
 * Cuts a run of consecutive plain files (one big file, or a day of rotated ones) into `jobs`
 * shares of about equal bytes, at entry starts; a share is the ranges of its files in order, for
 * one worker. A share whose first range starts inside a file reads a little before it for context;
 * one whose last range ends inside a file reads on to close its waits.
 */
async function planShares(
  run: readonly PlainInput[],
  options: AnalyzeOptions,
  jobs: number,
  window: TimeWindow,
): Promise<RangeJob[][]> {
  const files = await Promise.all(
    run.map(async (input) => {
      const head = await readHead(input.path);
      const format: LogFormat =
        options.format === 'auto' ? (detectLogFormat(head) ?? 'stderr') : options.format;
      const prefix =
        format === 'csvlog' || format === 'jsonlog'
          ? null
          : (options.logPrefix ??
            detectLinePrefix(
              format === 'stderr'
                ? head
                : format === 'rds'
                  ? rdsPortionText(head.toString('utf8'))
                  : envelopedText(head),
            )?.prefix ??
            null);
      const prefixDoubt =
        format === 'stderr' && options.logPrefix === null ? describePrefixDoubt(head, format) : null;
      return {
        input,
        format,
        prefix,
        isStart: entryStartTest(format, prefix),
        ...(prefixDoubt === null ? {} : { prefixDoubt }),
      };
    }),
  );
  const total = run.reduce((n, input) => n + input.size, 0);
  const end: Cut = { file: run.length, offset: 0 };
  const cuts: Cut[] = [{ file: 0, offset: 0 }];
  for (let k = 1; k < jobs; k++) {
    // The file the k-th share boundary falls in, and the offset in it.
    let target = Math.floor((total * k) / jobs);
    let file = 0;
    for (; file < run.length - 1 && target >= (run[file] as PlainInput).size; file++)
      target -= (run[file] as PlainInput).size;
    const { input, isStart } = files[file] as (typeof files)[number];
    const offset = target === 0 ? 0 : await findEntryStart(input.path, target, isStart);
    // No entry starts after the target in this file: cut where the next file begins.
    const cut: Cut =
      offset === null || offset >= input.size ? { file: file + 1, offset: 0 } : { file, offset };
    if (before(cuts.at(-1) as Cut, cut) && before(cut, end)) cuts.push(cut);
  }
  cuts.push(end);
  const shares: RangeJob[][] = [];
  const entryStartAtOrAfter = async (f: number, position: number): Promise<number> => {
    const { input, isStart } = files[f] as (typeof files)[number];
    return (await findEntryStart(input.path, position, isStart)) ?? input.size;
  };
  const range = (
    f: number,
    lookbackStart: number,
    start: number,
    stop: number,
    lookaheadEnd: number,
  ): RangeJob => {
    const { input, format, prefix, prefixDoubt } = files[f] as (typeof files)[number];
    return {
      input,
      format,
      prefix,
      lookbackStart,
      start,
      end: stop,
      lookaheadEnd,
      window,
      ...(prefixDoubt === undefined ? {} : { prefixDoubt }),
    };
  };
  for (let i = 0; i + 1 < cuts.length; i++) {
    const from = cuts[i] as Cut;
    const to = cuts[i + 1] as Cut;
    const share: RangeJob[] = [];
    // Context: up to LOOKBACK_BYTES before the share, into earlier files when the cut is near
    // (or at) a file's start — what each pid last ran, which waits are open.
    let budget = LOOKBACK_BYTES;
    let firstLookback = from.offset;
    if (from.offset > 0) {
      firstLookback = Math.min(
        from.offset,
        await entryStartAtOrAfter(from.file, Math.max(0, from.offset - budget)),
      );
      budget -= from.offset - firstLookback;
    }
    for (let f = from.file - 1; firstLookback === 0 && f >= 0 && budget > 0; f--) {
      const size = (run[f] as PlainInput).size;
      const lookbackStart = await entryStartAtOrAfter(f, Math.max(0, size - budget));
      share.unshift(range(f, lookbackStart, size, size, size));
      budget -= size - lookbackStart;
      if (lookbackStart > 0) break;
    }
    // Counted: the share's own bytes, file by file.
    let ahead = LOOKAHEAD_BYTES;
    let reachedEnd = to.offset === 0;
    for (let f = from.file; f < to.file || (f === to.file && to.offset > 0); f++) {
      const size = (run[f] as PlainInput).size;
      const start = f === from.file ? from.offset : 0;
      const stop = f === to.file ? to.offset : size;
      let lookaheadEnd = stop;
      if (f === to.file) {
        lookaheadEnd = Math.min(size, stop + ahead);
        ahead -= lookaheadEnd - stop;
        reachedEnd = lookaheadEnd === size;
      }
      share.push(range(f, f === from.file ? firstLookback : start, start, stop, lookaheadEnd));
    }
    // After it: the start of the next files, read only to close the waits the share opened.
    for (let f = to.offset > 0 ? to.file + 1 : to.file; reachedEnd && f < run.length && ahead > 0; f++) {
      const size = (run[f] as PlainInput).size;
      const lookaheadEnd = Math.min(size, ahead);
      share.push(range(f, 0, 0, 0, lookaheadEnd));
      ahead -= lookaheadEnd;
      if (lookaheadEnd < size) break;
    }
    if (share.some((job) => job.start < job.end)) shares.push(share);
  }
  return shares;
}

/** A gzip file on disk: read whole, but a run of them can be shared out file by file. */
type GzipInput = LogInput & { readonly path: string; readonly size: number; readonly gzip: true };

const isGzipFile = (input: LogInput): input is GzipInput =>
  input.path !== null && input.gzip && input.size !== null;

/**
 * Shares out a run of gzip files (rotated, compressed logs) whole, in order, by compressed size.
 * A share also reads up to LOOKBACK_BYTES of text before it (the end of the files before; what
 * precedes is only decompressed) and the files after it, only until its waits have ended (at most
 * LOOKAHEAD_BYTES of text).
 */
async function planGzipShares(
  run: readonly GzipInput[],
  options: AnalyzeOptions,
  jobs: number,
  window: TimeWindow,
): Promise<ShareJob[][]> {
  const total = run.reduce((n, input) => n + input.size, 0);
  const sizes = await Promise.all(run.map(uncompressedSize));
  const groups: number[][] = [[]];
  let done = 0;
  run.forEach((input, index) => {
    const current = groups.at(-1) as number[];
    if (current.length > 0 && done >= (total * groups.length) / jobs) groups.push([index]);
    else current.push(index);
    done += input.size;
  });
  const stream = (index: number, mode: 'count' | 'context' | 'finish', bytes?: number): ShareJob => ({
    kind: 'stream',
    input: run[index] as GzipInput,
    format: options.format,
    prefix: options.logPrefix,
    mode,
    ...(bytes === undefined ? {} : { bytes }),
    window,
  });
  return groups.map((group) => {
    const first = group[0] ?? 0;
    const last = group.at(-1) ?? 0;
    const share = group.map((index) => stream(index, 'count'));
    for (let index = first - 1, budget = LOOKBACK_BYTES; index >= 0 && budget > 0; index--) {
      share.unshift(stream(index, 'context', budget));
      budget -= sizes[index] ?? 0;
    }
    for (let index = last + 1, budget = LOOKAHEAD_BYTES; index < run.length && budget > 0; index++) {
      share.push(stream(index, 'finish', budget));
      budget -= sizes[index] ?? 0;
    }
    return share;
  });
}

const SKIP_LABELS: Readonly<Record<string, string>> = {
  'unmatched-prefix': 'lines not matching the log_line_prefix',
  'orphan-continuation': 'continuation lines without their entry',
  'invalid-csv': 'invalid csvlog records',
  'invalid-json': 'invalid jsonlog lines',
  'unmatched-envelope': 'lines that are not syslog or journal lines',
};
/** The same labels for a count of one. */
const SKIP_LABEL_ONE: Readonly<Record<string, string>> = {
  'lines not matching the log_line_prefix': 'line not matching the log_line_prefix',
  'continuation lines without their entry': 'continuation line without its entry',
  'invalid csvlog records': 'invalid csvlog record',
  'invalid jsonlog lines': 'invalid jsonlog line',
  'lines that are not syslog or journal lines': 'line that is not a syslog or journal line',
};

/** Control characters shown as escapes: a skipped line quoted in a warning must not drive the terminal. */
const printable = (text: string): string =>
  text.replace(
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );

/** `330` → `+05:30`. */
const formatOffset = (minutes: number): string =>
  `${minutes < 0 ? '-' : '+'}${String(Math.floor(Math.abs(minutes) / 60)).padStart(2, '0')}:${String(Math.abs(minutes) % 60).padStart(2, '0')}`;

/** What was read from one input, and what was skipped and why (never a silent zero). */
function summarize(input: LogInput, results: readonly RangePart[], options: AnalyzeOptions): InputSummary {
  // A range that only closed waits may have read too little to know the format: take the first that knows.
  const first = results.find((r) => r.format !== null) ?? results[0];
  const format = first?.format ?? 'unknown';
  const prefix = first?.prefix ?? null;
  const skipped: Record<string, number> = {};
  const warnings: string[] = [];
  let entries = 0;
  let bytes = 0;
  let truncated = 0;
  let nonEnglish = 0;
  const zones = new Set<string>();
  const ambiguous = new Set<string>();
  const examples: Partial<Record<string, string>> = {};
  for (const r of results) {
    entries += r.entries;
    bytes += r.stats.bytes;
    truncated += r.stats.truncated;
    nonEnglish += r.stats.nonEnglishSeverities;
    for (const zone of r.stats.unknownTimeZones) zones.add(zone);
    for (const zone of r.stats.ambiguousTimeZones ?? []) ambiguous.add(zone);
    for (const [reason, n] of Object.entries(r.stats.skipped) as [
      keyof LogReaderStats['skipped'],
      number,
    ][]) {
      const label = SKIP_LABELS[reason];
      if (label === undefined || n === 0) continue;
      skipped[label] = (skipped[label] ?? 0) + n;
      examples[label] ??= r.stats.skippedExamples[reason];
    }
    for (const warning of r.warnings) if (!warnings.includes(warning)) warnings.push(warning);
  }
  const name = input.name;
  if (entries === 0 && (input.size ?? bytes) === 0)
    warnings.unshift(`${name} is empty (0 bytes): nothing to analyze in it`);
  else if (entries === 0) {
    const hint =
      options.logPrefix !== null
        ? `check that --log-prefix '${options.logPrefix}' is the server's log_line_prefix`
        : options.format === 'auto'
          ? "if it is a stderr log, give the server's log_line_prefix with --log-prefix (e.g. --log-prefix '%m [%p] '), or the format with --log-format csvlog|jsonlog|syslog|journald"
          : `check that it is a ${options.format} log`;
    warnings.unshift(`0 entries recognised in ${name}: is this a PostgreSQL log? ${hint}`);
  }
  for (const [label, n] of Object.entries(skipped)) {
    const example = examples[label];
    const counted = n === 1 ? (SKIP_LABEL_ONE[label] ?? label) : label;
    warnings.push(
      `${formatCount(n)} ${counted}${label.includes('prefix') && prefix !== null ? ` '${prefix}'` : ''} ${n === 1 ? 'was' : 'were'} skipped${example ? `, e.g. "${printable(example.slice(0, 120))}"` : ''}`,
    );
  }
  if (truncated > 0)
    warnings.push(`${formatCount(truncated)} entries longer than 1 MiB were cut (their text ends early)`);
  if (nonEnglish > 0) {
    warnings.push(
      `${formatCount(nonEnglish)} entries have a non-English severity: the server's lc_messages is not English, so their messages are counted by severity but not interpreted (set lc_messages = 'C' for a full report)`,
    );
  }
  if (zones.size > 0) warnings.push(`time zones not understood, read as UTC: ${[...zones].join(', ')}`);
  for (const zone of ambiguous) {
    const readings = AMBIGUOUS_ZONES[zone] ?? [];
    const [read, other] = readings;
    if (read === undefined || other === undefined) continue;
    const example = other.where.replace(/.*\((.*)\)/, '$1');
    warnings.push(
      `times written as ${zone} are ambiguous (${readings.map((r) => `${r.where} ${formatOffset(r.minutes)}`).join(', ')}) and were read as ${formatOffset(read.minutes)}: if the server's log_timezone (SHOW log_timezone) is another, pass it, e.g. --log-timezone ${example} or --log-timezone ${formatOffset(other.minutes)}`,
    );
  }
  return {
    name,
    format:
      (format === 'stderr' ||
        format === 'syslog' ||
        format === 'journald' ||
        format === 'cloudsql' ||
        format === 'heroku' ||
        format === 'azure' ||
        format === 'rds') &&
      prefix !== null
        ? `${format} '${prefix}'`
        : format,
    bytes: input.size ?? bytes,
    entries,
    skipped,
    warnings,
  };
}

/** Reads every input (worker threads for big plain files) and builds the report. */
export async function runAnalysis(options: AnalyzeOptions, io: AnalyzeIo): Promise<AnalysisReport> {
  const described = await Promise.all(options.files.map(describeInput));
  // --year: a syslog file's `Mon DD` timestamps are of that year, whatever the file's time.
  const year = options.year;
  const dated = year === null ? described : described.map((input) => ({ ...input, syslogYear: { year } }));
  // --log-timezone: the zone abbreviations several zones share are read in it.
  const timezone = options.logTimezone;
  const given = timezone === null ? dated : dated.map((input) => ({ ...input, logTimezone: timezone }));
  // The same entries in several files (stderr + csvlog + jsonlog of one server) are counted once.
  const twins = await findTwins(given, { format: options.format, prefix: options.logPrefix });
  const inputs = twins.keep;
  const window: TimeWindow = { since: options.since, until: options.until };
  const total = inputs.reduce((n, i) => n + (i.size ?? 0), 0);
  const progress = options.progress ? ProgressBar.create(total, { stream: io.stderr }) : null;
  const onBytes = (n: number): void => progress?.advance(n);
  const state = createState();
  // Small files and streams share one aggregator, in the order given: a rotated log goes on
  // where the previous file stopped (open waits, what each pid last ran).
  let shared = new LogAggregator();
  const summaries: InputSummary[] = [];
  try {
    for (let i = 0; i < inputs.length;) {
      // Consecutive plain files are one run: big enough, it is shared out to worker threads.
      // Consecutive plain files are cut anywhere; consecutive gzip files are shared out whole.
      let runEnd = i;
      while (runEnd < inputs.length && isPlain(inputs[runEnd] as LogInput)) runEnd++;
      const plainRun = inputs.slice(i, runEnd) as PlainInput[];
      let gzipEnd = i;
      while (gzipEnd < inputs.length && isGzipFile(inputs[gzipEnd] as LogInput)) gzipEnd++;
      const gzipRun = inputs.slice(i, gzipEnd) as GzipInput[];
      const bytes = (run: readonly LogInput[]): number => run.reduce((n, input) => n + (input.size ?? 0), 0);
      const splitMin = io.splitMinBytes ?? SPLIT_MIN_BYTES;
      const run: readonly LogInput[] = plainRun.length > 0 ? plainRun : gzipRun;
      const shares =
        options.jobs < 2
          ? null
          : plainRun.length > 0 && bytes(plainRun) >= splitMin
            ? await planShares(plainRun, options, options.jobs, window)
            : gzipRun.length >= 2 && bytes(gzipRun) >= splitMin / GZIP_RATIO
              ? await planGzipShares(gzipRun, options, options.jobs, window)
              : null;
      if (shares !== null) {
        // Every share in a worker thread, even with this thread idle: a worker's young generation
        // can be kept small (range-workers.ts), the main thread's cannot, and it sets peak RSS.
        const results =
          shares.length === 1
            ? [await analyzeRanges(shares[0] ?? [], onBytes)]
            : await runRangeWorkers(shares, onBytes);
        mergeState(state, shared.finish());
        shared = new LogAggregator();
        for (const result of results) mergeState(state, result.state);
        const parts = results.flatMap((r) => r.parts);
        for (const input of run)
          summaries.push(
            summarize(
              input,
              parts.filter((p) => p.name === input.name),
              options,
            ),
          );
        i += run.length;
        continue;
      }
      const input = inputs[i] as LogInput;
      const result = await analyzeStream(input, {
        format: options.format,
        prefix: options.logPrefix,
        window,
        aggregator: shared,
        onBytes,
      });
      summaries.push(summarize(input, [result], options));
      i++;
    }
  } finally {
    progress?.finish();
  }
  mergeState(state, shared.finish());
  for (const { name, note } of twinNotes(twins)) {
    const at = summaries.findIndex((s) => s.name === name);
    const summary = summaries[at];
    if (summary) summaries[at] = { ...summary, warnings: [note, ...summary.warnings] };
  }
  if (summaries.every((s) => s.entries === 0)) {
    const why = summaries.map((s) => s.warnings.join('; ')).join(' | ');
    throw userError('ANALYZE_NOTHING_RECOGNISED', why || '0 entries recognised: is this a PostgreSQL log?');
  }
  return buildReport(state, {
    inputs: summaries,
    since: options.since,
    until: options.until,
    top: options.top,
  });
}
