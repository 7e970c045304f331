import { StringDecoder } from 'node:string_decoder';
import type { LogEvent } from '../core/log-event.js';
import { CsvParser } from './csv-parser.js';
import { JsonParser } from './json-parser.js';
import { compileLinePrefix } from './line-prefix.js';
import { LineSplitter } from './line-splitter.js';
import { detectLogFormat, type LogFormat } from './log-format.js';
import { TimestampParser } from './log-timestamp.js';
import type { LogTimezone } from './log-timezone.js';
import { describePrefixDoubt, detectLinePrefix } from './prefix-detect.js';
import { type LogReaderStats, ReaderCounters } from './reader-stats.js';
import { StderrParser } from './stderr-parser.js';
import { JsonObjectLines } from './json-objects.js';
import { RdsPortionText, rdsPortionText } from './rds-portion.js';
import { HEROKU_LINE_PREFIX, readEnvelope, SyslogParser, type SyslogYear } from './syslog-parser.js';

export interface LogReaderOptions {
  /** `auto` decides from the first lines (see `detectLogFormat`). */
  readonly format: LogFormat | 'auto';
  /** stderr, syslog, journald: the server's `log_line_prefix`; detected from the first lines when absent. */
  readonly prefix?: string;
  /** syslog: the year of `Mon DD HH:MM:SS` timestamps (`--year`, or the file's time). Without it their time is unknown. */
  readonly year?: SyslogYear;
  /** `--log-timezone`: the server's log_timezone, for zone abbreviations several zones share (`IST`, `CST`). */
  readonly timezone?: LogTimezone | null;
  /** An entry (or line) longer than this many characters is cut there and counted. Default 1 MiB. */
  readonly maxEntryLength?: number;
}

/**
 * A streaming PostgreSQL log reader: feed it the file's bytes in chunks of any size, get events.
 * Memory stays bounded whatever the input: a partial line, the entry being assembled and the
 * first bytes held to detect the format are each capped.
 */
export interface LogReader {
  /** Reads a chunk; returns the events it completed. */
  push(chunk: Buffer): LogEvent[];
  /**
   * Returns the entry still being assembled (a stderr entry is complete only when the next one
   * starts): call it when the file has gone quiet. A partial line stays buffered.
   */
  flush(): LogEvent[];
  /** End of input: everything still held, including a last line without `\n`. */
  end(): LogEvent[];
  readonly stats: LogReaderStats;
  /** The format being read, once known (`auto` decides on the first lines). */
  readonly format: LogFormat | null;
  /** stderr: the `log_line_prefix` in use (given or detected), once known. */
  readonly prefix: string | null;
  /** A detected prefix that did not read every line of the sample: the two best readings and the flags to pass. */
  readonly prefixDoubt: string | null;
  /** Characters held right now (a bound the property test checks). */
  readonly buffered: number;
}

export const DEFAULT_MAX_ENTRY_LENGTH = 1024 * 1024;
/** How much input `auto` format or prefix detection looks at before deciding. */
const SNIFF_BYTES = 64 * 1024;
const SNIFF_LINES = 200;
const DECODE_SLICE = 64 * 1024;

interface Pipeline {
  push(chunk: Buffer): void;
  flush(): void;
  end(): void;
  readonly buffered: number;
}

export function createLogReader(options: LogReaderOptions): LogReader {
  const maxEntryLength = options.maxEntryLength ?? DEFAULT_MAX_ENTRY_LENGTH;
  const counters = new ReaderCounters();
  const times = new TimestampParser({ timezone: options.timezone ?? null });
  // The parsers push completed events here; each call hands them back and empties it.
  const out: LogEvent[] = [];
  let format: LogFormat | null = options.format === 'auto' ? null : options.format;
  let prefix: string | null = options.prefix ?? null;
  let prefixDoubt: string | null = null;
  let pipeline: Pipeline | null = null;
  // Held while the format or the prefix is still unknown.
  let sniffed: Buffer[] = [];
  let sniffedBytes = 0;
  let sniffedLines = 0;

  const build = (chosen: LogFormat): Pipeline => {
    if (chosen === 'csvlog') {
      const decoder = new StringDecoder('utf8');
      const csv = new CsvParser({ counters, times, maxRecordLength: maxEntryLength, out });
      return {
        push: (chunk) => {
          csv.text(decoder.write(chunk));
        },
        flush: () => undefined,
        end: () => {
          const rest = decoder.end();
          csv.text(rest);
          csv.end(rest);
        },
        get buffered() {
          return csv.buffered;
        },
      };
    }
    if (chosen === 'jsonlog' || chosen === 'cloudnative-pg') {
      const json = new JsonParser({ counters, times, out, cloudnativePg: chosen === 'cloudnative-pg' });
      const lines = new LineSplitter(maxEntryLength, json.line);
      return {
        push: (chunk) => {
          lines.push(chunk);
        },
        flush: () => undefined,
        end: () => {
          lines.end();
        },
        get buffered() {
          return lines.buffered;
        },
      };
    }
    const stderr = new StderrParser({
      prefix: compileLinePrefix(prefix ?? ''),
      counters,
      times,
      maxEntryLength,
      out,
    });
    if (
      chosen === 'syslog' ||
      chosen === 'journald' ||
      chosen === 'cloudsql' ||
      chosen === 'heroku' ||
      chosen === 'azure'
    ) {
      const syslog = new SyslogParser({ stderr, counters, year: options.year ?? null });
      // Cloud SQL and Azure exports may be a pretty-printed JSON array: made one entry per line first.
      const objects =
        chosen === 'cloudsql' || chosen === 'azure' ? new JsonObjectLines(syslog.line, maxEntryLength) : null;
      const envelopes = new LineSplitter(maxEntryLength, objects?.line ?? syslog.line);
      return {
        push: (chunk) => {
          envelopes.push(chunk);
        },
        flush: () => {
          syslog.flush();
        },
        end: () => {
          envelopes.end();
          objects?.end();
          syslog.flush();
        },
        get buffered() {
          return envelopes.buffered + (objects?.buffered ?? 0) + syslog.buffered;
        },
      };
    }
    const lines = new LineSplitter(maxEntryLength, stderr.line);
    if (chosen === 'rds') {
      // The stderr text is inside JSON strings: unescaped as it streams, then split into lines.
      const decoder = new StringDecoder('utf8');
      const portions = new RdsPortionText((text) => {
        lines.pushText(text);
      });
      return {
        push: (chunk) => {
          portions.push(decoder.write(chunk));
        },
        flush: () => {
          stderr.flush();
        },
        end: () => {
          portions.push(decoder.end());
          lines.end();
          stderr.flush();
        },
        get buffered() {
          return portions.buffered + lines.buffered + stderr.buffered;
        },
      };
    }
    return {
      push: (chunk) => {
        lines.push(chunk);
      },
      flush: () => {
        stderr.flush();
      },
      end: () => {
        lines.end();
        stderr.flush();
      },
      get buffered() {
        return lines.buffered + stderr.buffered;
      },
    };
  };

  /** Decides the format and prefix from what was held, then reads it. */
  const decide = (): Pipeline => {
    const sample = Buffer.concat(sniffed);
    sniffed = [];
    sniffedBytes = 0;
    format ??= detectLogFormat(sample) ?? 'stderr';
    if (format === 'stderr' && prefix === null) {
      prefix = detectLinePrefix(sample)?.prefix ?? '';
      prefixDoubt = describePrefixDoubt(sample, 'stderr');
    }
    // Heroku's log_line_prefix is fixed (its envelope reader drops the space it starts with).
    if (format === 'heroku') prefix ??= HEROKU_LINE_PREFIX;
    if ((format === 'syslog' || format === 'journald') && prefix === null)
      prefix = detectLinePrefix(envelopedText(sample))?.prefix ?? '';
    if (format === 'rds' && prefix === null) {
      const text = rdsPortionText(sample.toString('utf8'));
      prefix = detectLinePrefix(text)?.prefix ?? '';
      prefixDoubt = describePrefixDoubt(text, 'rds');
    }
    if ((format === 'cloudsql' || format === 'azure') && prefix === null)
      prefix = detectLinePrefix(envelopedText(jsonObjectLines(sample.toString('utf8'))))?.prefix ?? '';
    const chosen = build(format);
    pipeline = chosen;
    for (let at = 0; at < sample.length; at += DECODE_SLICE)
      chosen.push(sample.subarray(at, at + DECODE_SLICE));
    return chosen;
  };

  const needsSniff =
    format === null ||
    (format !== 'csvlog' && format !== 'jsonlog' && format !== 'cloudnative-pg' && prefix === null);
  if (!needsSniff) pipeline = build(format ?? 'stderr');

  const take = (): LogEvent[] => out.splice(0);

  return {
    push(chunk) {
      counters.bytes += chunk.length;
      if (pipeline !== null) {
        // Decoded in slices: V8 makes strings of up to ~64 KiB many times faster than 1 MiB ones,
        // and the event strings sliced from them keep less text alive.
        for (let at = 0; at < chunk.length; at += DECODE_SLICE)
          pipeline.push(chunk.subarray(at, at + DECODE_SLICE));
        return take();
      }
      // A copy: callers may reuse their buffer for the next chunk (analyze does).
      sniffed.push(Buffer.from(chunk));
      sniffedBytes += chunk.length;
      for (
        let at = chunk.indexOf(10);
        at >= 0 && sniffedLines < SNIFF_LINES;
        at = chunk.indexOf(10, at + 1)
      ) {
        sniffedLines++;
      }
      if (sniffedBytes >= SNIFF_BYTES || sniffedLines >= SNIFF_LINES) decide();
      return take();
    },
    flush() {
      // A quiet file with a few complete lines: decide with what there is.
      if (pipeline === null && sniffedLines > 0) decide();
      pipeline?.flush();
      return take();
    },
    end() {
      (pipeline ?? decide()).end();
      return take();
    },
    get stats() {
      return counters.snapshot(times.unknownZones, times.ambiguousZones);
    },
    get format() {
      return format;
    },
    get prefixDoubt() {
      return prefixDoubt;
    },
    get prefix() {
      return format === 'csvlog' || format === 'jsonlog' || format === 'cloudnative-pg' ? null : prefix;
    },
    get buffered() {
      return sniffedBytes + (pipeline?.buffered ?? 0);
    },
  };
}

/** The text PostgreSQL wrote inside syslog or journal envelopes (`[n-m]` numbering off), to detect its prefix. */
export function envelopedText(sample: Buffer | string): string {
  const text = typeof sample === 'string' ? sample : sample.toString('utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const found = readEnvelope(line, null, { value: -1 });
    if (found === null) continue;
    const body = found.body.replace(/^\[\d+(?:-\d+)?\] /, '');
    // Chunks cut by length and other programs' lines are not prefix lines.
    if (body.startsWith(' ') || body.startsWith('#011')) continue;
    out.push(body.replace(/#012/g, '\n'));
  }
  return out.join('\n');
}

/** A sample of JSON objects, pretty-printed in an array or not, as one object per line. */
function jsonObjectLines(text: string): string {
  const out: string[] = [];
  const objects = new JsonObjectLines((t, start, end) => out.push(t.slice(start, end)), text.length);
  let start = 0;
  for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
    objects.line(text, start, newline, false);
    start = newline + 1;
  }
  return out.join('\n');
}
