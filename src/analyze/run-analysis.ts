import { open } from 'node:fs/promises';
import { detectLogFormat, type LogFormat } from '../agent/targets/postgres/log/log-format.js';
import { detectLinePrefix } from '../agent/targets/postgres/log/prefix-detect.js';
import type { LogReaderStats } from '../agent/targets/postgres/log/reader-stats.js';
import { userError } from '../core/errors.js';
import { buildReport, type AnalysisReport, type InputSummary } from './analysis-report.js';
import { createState, mergeState } from './analysis-state.js';
import type { AnalyzeOptions } from './analyze-options.js';
import { entryStartTest, findEntryStart } from './entry-boundaries.js';
import { LogAggregator } from './log-aggregator.js';
import { describeInput, type LogInput } from './log-input.js';
import { ProgressBar } from './progress-bar.js';
import { analyzeStream, analyzeRange, type RangeJob, type RangeResult, type TimeWindow } from './range-analysis.js';
import { runRangeWorkers } from './range-workers.js';
import { formatCount } from './report-format.js';

/** Plain files at least this big are split into byte ranges read by worker threads. */
const SPLIT_MIN_BYTES = 48 * 1024 * 1024;
/** How far before its range a worker reads for context, and after it to close its waits. */
const LOOKBACK_BYTES = 8 * 1024 * 1024;
const LOOKAHEAD_BYTES = 16 * 1024 * 1024;

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

/** Byte ranges for the workers, cut at entry starts; one range when no cut point is found. */
async function planRanges(input: LogInput & { path: string; size: number }, format: LogFormat, prefix: string | null, jobs: number, window: TimeWindow): Promise<RangeJob[]> {
  const isStart = entryStartTest(format, prefix);
  const cuts = [0];
  for (let k = 1; k < jobs; k++) {
    const cut = await findEntryStart(input.path, Math.floor((input.size * k) / jobs), isStart);
    if (cut !== null && cut > (cuts.at(-1) ?? 0)) cuts.push(cut);
  }
  const ranges: RangeJob[] = [];
  for (let i = 0; i < cuts.length; i++) {
    const start = cuts[i] ?? 0;
    const end = cuts[i + 1] ?? input.size;
    const lookbackStart = start === 0 ? 0 : ((await findEntryStart(input.path, Math.max(0, start - LOOKBACK_BYTES), isStart)) ?? start);
    const lookaheadEnd = end === input.size ? end : Math.min(input.size, end + LOOKAHEAD_BYTES);
    ranges.push({ input, format, prefix, lookbackStart: Math.min(lookbackStart, start), start, end, lookaheadEnd, window });
  }
  return ranges;
}

const SKIP_LABELS: Readonly<Record<string, string>> = {
  'unmatched-prefix': 'lines not matching the log_line_prefix',
  'orphan-continuation': 'continuation lines without their entry',
  'invalid-csv': 'invalid csvlog records',
  'invalid-json': 'invalid jsonlog lines',
};
/** The same labels for a count of one. */
const SKIP_LABEL_ONE: Readonly<Record<string, string>> = {
  'lines not matching the log_line_prefix': 'line not matching the log_line_prefix',
  'continuation lines without their entry': 'continuation line without its entry',
  'invalid csvlog records': 'invalid csvlog record',
  'invalid jsonlog lines': 'invalid jsonlog line',
};

/** What was read from one input, and what was skipped and why (never a silent zero). */
function summarize(input: LogInput, results: readonly Omit<RangeResult, 'state'>[], options: AnalyzeOptions): InputSummary {
  const first = results[0];
  const format = first?.format ?? 'unknown';
  const prefix = first?.prefix ?? null;
  const skipped: Record<string, number> = {};
  const warnings: string[] = [];
  let entries = 0;
  let bytes = 0;
  let truncated = 0;
  let nonEnglish = 0;
  const zones = new Set<string>();
  const examples: Partial<Record<string, string>> = {};
  for (const r of results) {
    entries += r.entries;
    bytes += r.stats.bytes;
    truncated += r.stats.truncated;
    nonEnglish += r.stats.nonEnglishSeverities;
    for (const zone of r.stats.unknownTimeZones) zones.add(zone);
    for (const [reason, n] of Object.entries(r.stats.skipped) as [keyof LogReaderStats['skipped'], number][]) {
      const label = SKIP_LABELS[reason];
      if (label === undefined || n === 0) continue;
      skipped[label] = (skipped[label] ?? 0) + n;
      examples[label] ??= r.stats.skippedExamples[reason];
    }
    warnings.push(...r.warnings);
  }
  const name = input.name;
  if (entries === 0) {
    const hint =
      options.logPrefix !== null
        ? `check that --log-prefix '${options.logPrefix}' is the server's log_line_prefix`
        : options.format === 'auto'
          ? "if it is a stderr log, give the server's log_line_prefix with --log-prefix (e.g. --log-prefix '%m [%p] '), or the format with --log-format csvlog|jsonlog"
          : `check that it is a ${options.format} log`;
    warnings.unshift(`0 entries recognised in ${name}: is this a PostgreSQL log? ${hint}`);
  }
  for (const [label, n] of Object.entries(skipped)) {
    const example = examples[label];
    const counted = n === 1 ? (SKIP_LABEL_ONE[label] ?? label) : label;
    warnings.push(`${formatCount(n)} ${counted}${label.includes('prefix') && prefix !== null ? ` '${prefix}'` : ''} ${n === 1 ? 'was' : 'were'} skipped${example ? `, e.g. "${example.slice(0, 120)}"` : ''}`);
  }
  if (truncated > 0) warnings.push(`${formatCount(truncated)} entries longer than 1 MiB were cut (their text ends early)`);
  if (nonEnglish > 0) {
    warnings.push(
      `${formatCount(nonEnglish)} entries have a non-English severity: the server's lc_messages is not English, so their messages are counted by severity but not interpreted (set lc_messages = 'C' for a full report)`,
    );
  }
  if (zones.size > 0) warnings.push(`time zones not understood, read as UTC: ${[...zones].join(', ')}`);
  return { name, format: format === 'stderr' && prefix !== null ? `stderr '${prefix}'` : format, bytes: input.size ?? bytes, entries, skipped, warnings };
}

/** Reads every input (worker threads for big plain files) and builds the report. */
export async function runAnalysis(options: AnalyzeOptions, io: AnalyzeIo): Promise<AnalysisReport> {
  const inputs = await Promise.all(options.files.map(describeInput));
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
    for (const input of inputs) {
      if (options.jobs >= 2 && input.path !== null && !input.gzip && input.size !== null && input.size >= (io.splitMinBytes ?? SPLIT_MIN_BYTES)) {
        const head = await readHead(input.path);
        const format: LogFormat = options.format === 'auto' ? (detectLogFormat(head) ?? 'stderr') : options.format;
        const prefix = format === 'stderr' ? (options.logPrefix ?? detectLinePrefix(head)?.prefix ?? null) : null;
        const jobs = await planRanges({ ...input, path: input.path, size: input.size }, format, prefix, options.jobs, window);
        // Every range in a worker thread, even with this thread idle: a worker's young generation
        // can be kept small (range-workers.ts), the main thread's cannot, and it sets peak RSS.
        const results = jobs.length === 1 ? [await analyzeRange(jobs[0] as RangeJob, onBytes)] : await runRangeWorkers(jobs, onBytes);
        mergeState(state, shared.finish());
        shared = new LogAggregator();
        for (const result of results) mergeState(state, result.state);
        summaries.push(summarize(input, results, options));
        continue;
      }
      const result = await analyzeStream(input, { format: options.format, prefix: options.logPrefix, window, aggregator: shared, onBytes });
      summaries.push(summarize(input, [result], options));
    }
  } finally {
    progress?.finish();
  }
  mergeState(state, shared.finish());
  if (summaries.every((s) => s.entries === 0)) {
    const why = summaries.map((s) => s.warnings.join('; ')).join(' | ');
    throw userError('ANALYZE_NOTHING_RECOGNISED', why || '0 entries recognised: is this a PostgreSQL log?');
  }
  return buildReport(state, { inputs: summaries, since: options.since, until: options.until, top: options.top });
}
