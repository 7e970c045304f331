import { HEROKU, HEROKU_DRAIN, readEnvelope } from './syslog-parser.js';

import type { LogFormat } from '../core/log-event.js';

// The formats are declared once, in core (options and readers share them).
export { LOG_FORMATS, type LogFormat } from '../core/log-event.js';

const QUOTED = '(?:"(?:[^"\\n]|"")*")?';
/** A column that PostgreSQL writes bare but an export may quote (log time, pid, numbers). */
const bare = (pattern: string): string => `(?:${pattern}|"${pattern}")`;
/**
 * The first 13 columns of a csvlog record, by their shapes: log time, user, database, pid,
 * client, session id, line number, command tag, session start, virtual xid, xid, severity,
 * SQLSTATE. A stderr line with commas in its message does not pass for one. Exports and some
 * platforms quote every column, the log time too.
 */
export const CSV_RECORD_HEAD = new RegExp(
  `^${bare('\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}(?: [^,\\n"]*)?')},${QUOTED},${QUOTED},${bare('\\d*')},${QUOTED},${bare('[0-9a-f]*\\.?[0-9a-f]*')},${bare('\\d*')},${QUOTED},${bare('[^,\\n"]*')},${bare('[^,\\n"]*')},${bare('\\d*')},${bare('[A-Z0-9]+')},${bare('[0-9A-Z]{5}')},`,
);
const SEVERITY = /\b(?:LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG|DETAIL|STATEMENT): {2}/;
const MAX_LINES = 50;
const PRETTY_TEXT_PAYLOAD = /^\s+"textPayload": "/;

const RDS_PORTION = /^\s*\{?\s*"LogFileData"\s*:\s*"/;
const PRETTY_AZURE_LEVEL =
  /^\s+"(?:ErrorLevel|errorLevel_s)": "(?:LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG[1-5]?)",?$/;

/** Azure's PostgreSQLLogs: a storage-account record (`category`, `properties.errorLevel`) or a Log Analytics row. */
function isAzureRecord(record: object): boolean {
  const fields = record as Record<string, unknown>;
  const properties = fields.properties;
  if (
    typeof properties === 'object' &&
    properties !== null &&
    'errorLevel' in properties &&
    'message' in properties
  )
    return true;
  return ('ErrorLevel' in fields || 'errorLevel_s' in fields) && 'Message' in fields;
}

/** journalctl -o short-iso writes the zone as `+0000` (rsyslog writes `+00:00`). */
const SHORT_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?[+-]\d{4} /;

/**
 * Tells the format from the first lines of a log: a JSON object with `error_severity` is jsonlog
 * (with `MESSAGE`, a journal record; with `record.error_severity`, CloudNativePG's; with
 * `textPayload`, a Cloud SQL entry of Cloud Logging; with `properties.errorLevel` or `ErrorLevel`, an Azure
 * diagnostic record), a Heroku logplex line of `app[postgres.N]` is heroku, a line opening with the 13 columns of a csvlog record (its
 * time quoted or not) is csvlog, a syslog or journal line whose text has `SEVERITY:  ` is syslog
 * (journald for `-o short-iso`), another line with `SEVERITY:  ` is stderr. Null when nothing
 * looks like a PostgreSQL log at all.
 */
export function detectLogFormat(sample: Buffer): LogFormat | null {
  const text = sample.subarray(0, 256 * 1024).toString('utf8');
  let looked = 0;
  let stderr = false;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('\t')) continue;
    if (++looked > MAX_LINES) break;
    // The JSON of `aws rds download-db-log-file-portion`: the log's text in LogFileData.
    if (RDS_PORTION.test(line)) return 'rds';
    if (line.startsWith('{')) {
      try {
        const record: unknown = JSON.parse(line);
        if (typeof record === 'object' && record !== null && 'error_severity' in record) return 'jsonlog';
        // CloudNativePG: a PostgreSQL record, or its instance manager's line (a pod starts with many).
        if (
          typeof record === 'object' &&
          record !== null &&
          'logger' in record &&
          ('logging_pod' in record ||
            ('record' in record &&
              typeof record.record === 'object' &&
              record.record !== null &&
              'error_severity' in record.record))
        )
          return 'cloudnative-pg';
        if (
          typeof record === 'object' &&
          record !== null &&
          'MESSAGE' in record &&
          '__REALTIME_TIMESTAMP' in record &&
          SEVERITY.test(String((record as { MESSAGE: unknown }).MESSAGE))
        )
          return 'journald';
        if (
          typeof record === 'object' &&
          record !== null &&
          'textPayload' in record &&
          SEVERITY.test(String(record.textPayload))
        )
          return 'cloudsql';
        if (typeof record === 'object' && record !== null && isAzureRecord(record)) return 'azure';
      } catch {
        // A cut line at the end of the sample, or not JSON: look at the next one.
      }
      continue;
    }
    if (CSV_RECORD_HEAD.test(line)) return 'csvlog';
    if (HEROKU.test(line) || HEROKU_DRAIN.test(line)) return 'heroku';
    // A Cloud Logging entry pretty-printed (`gcloud logging read --format=json`): its textPayload line.
    if (PRETTY_TEXT_PAYLOAD.test(line) && SEVERITY.test(line)) return 'cloudsql';
    // Log Analytics rows pretty-printed (`az monitor log-analytics query`): an error level of PostgreSQL's.
    if (PRETTY_AZURE_LEVEL.test(line)) return 'azure';
    if (!SEVERITY.test(line)) continue;
    // A PostgreSQL line inside a syslog envelope: the envelope's time is not a log_line_prefix.
    const envelope = readEnvelope(line, null, { value: -1 });
    if (envelope !== null && SEVERITY.test(envelope.body))
      return SHORT_ISO.test(line) ? 'journald' : 'syslog';
    stderr = true;
  }
  return stderr ? 'stderr' : null;
}

/** The format PostgreSQL's logging collector gives a file, from its name (`.csv`, `.json`, else stderr). */
export function logFormatOfFileName(name: string): LogFormat {
  if (name.endsWith('.csv')) return 'csvlog';
  if (name.endsWith('.json')) return 'jsonlog';
  return 'stderr';
}
