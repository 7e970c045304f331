/** Why a line or record did not become (part of) an event. */
export type SkipReason =
  /** A stderr line that neither starts with the `log_line_prefix` nor continues an entry with a tab. */
  | 'unmatched-prefix'
  /** A continuation (tab line, DETAIL, STATEMENT…) with no entry of the same process to attach to. */
  | 'orphan-continuation'
  /** A csvlog record that is not well-formed CSV or has too few columns. */
  | 'invalid-csv'
  /** A jsonlog line that is not a JSON object with `error_severity` and `message`. */
  | 'invalid-json'
  /** A syslog or journal line without an envelope it could read (not a syslog line). */
  | 'unmatched-envelope'
  /** A line of another program sharing the stream (CloudNativePG's instance manager): expected, not a warning. */
  | 'other-logger'
  | 'blank';

/** What a reader did with its input, to say what was skipped and why — never a silent zero. */
export interface LogReaderStats {
  readonly bytes: number;
  readonly lines: number;
  readonly events: number;
  /** Entries cut at the size cap (their text ends early; the event is still produced). */
  readonly truncated: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
  /** The first skipped line for each reason (at most 200 characters), to show the user. */
  readonly skippedExamples: Readonly<Partial<Record<SkipReason, string>>>;
  /** Entries whose severity is not an English one: the server's `lc_messages` is not English. */
  readonly nonEnglishSeverities: number;
  /** Time zone abbreviations that were not understood (times read as UTC). */
  readonly unknownTimeZones: readonly string[];
  /** Abbreviations several zones share (`IST`, `CST`) read without `--log-timezone`: the table's guess. */
  readonly ambiguousTimeZones?: readonly string[];
}

const EXAMPLE_LENGTH = 200;

/** The mutable side of `LogReaderStats`, shared by the format parsers of one reader. */
export class ReaderCounters {
  bytes = 0;
  lines = 0;
  events = 0;
  truncated = 0;
  nonEnglishSeverities = 0;
  readonly skipped: Record<SkipReason, number> = {
    'unmatched-prefix': 0,
    'orphan-continuation': 0,
    'invalid-csv': 0,
    'invalid-json': 0,
    'unmatched-envelope': 0,
    'other-logger': 0,
    blank: 0,
  };
  readonly skippedExamples: Partial<Record<SkipReason, string>> = {};

  skip(reason: SkipReason, text: string, start = 0, end = text.length): void {
    this.skipped[reason]++;
    if (this.skippedExamples[reason] === undefined && reason !== 'blank') {
      this.skippedExamples[reason] = text.slice(start, Math.min(end, start + EXAMPLE_LENGTH));
    }
  }

  snapshot(unknownTimeZones: ReadonlySet<string>, ambiguousTimeZones?: ReadonlySet<string>): LogReaderStats {
    return {
      bytes: this.bytes,
      lines: this.lines,
      events: this.events,
      truncated: this.truncated,
      skipped: { ...this.skipped },
      skippedExamples: { ...this.skippedExamples },
      nonEnglishSeverities: this.nonEnglishSeverities,
      unknownTimeZones: [...unknownTimeZones],
      ambiguousTimeZones: [...(ambiguousTimeZones ?? [])],
    };
  }
}
