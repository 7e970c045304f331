import { describe, expect, it } from 'vitest';
import { detectLogFormat } from '../../../src/postgres-log/log-format.js';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';

const detect = (...lines: string[]) => detectLogFormat(Buffer.from(`${lines.join('\n')}\n`));

// Lines in each platform's documented layout (CloudNativePG's logging page, Cloud Logging's
// LogEntry with Cloud SQL's prefix, Heroku's logplex lines with write_syslog numbering).
const CNPG_RECORD = JSON.stringify({
  level: 'info',
  ts: 1619781249.7188137,
  logger: 'postgres',
  msg: 'record',
  logging_pod: 'cluster-example-1',
  record: {
    log_time: '2021-04-30 11:14:09.718 UTC',
    process_id: '25',
    error_severity: 'ERROR',
    sql_state_code: '40P01',
    message: 'deadlock detected',
    detail: 'Process 25 waits for ShareLock on transaction 759; blocked by process 26.',
    query: 'UPDATE t SET v = 1 WHERE id = 2',
  },
});
const CNPG_MANAGER = JSON.stringify({
  level: 'info',
  ts: '2021-04-30T11:14:09.123456Z',
  logger: 'instance-manager',
  msg: 'Checking for free disk space for WALs',
  logging_pod: 'cluster-example-1',
});
const CLOUD_SQL = JSON.stringify({
  textPayload: '2026-11-30 20:00:00.123 UTC [4242]: [3-1] db=app,user=web ERROR:  deadlock detected',
  timestamp: '2026-11-30T20:00:00.123456Z',
  resource: { type: 'cloudsql_database', labels: { database_id: 'p:i' } },
});
const HEROKU =
  '2026-11-30T20:00:00.123456+00:00 app[postgres.4242]: [DATABASE] [12-1]  sql_error_code = 40P01 ERROR:  deadlock detected';

describe('detectLogFormat: platform layouts', () => {
  it('CloudNativePG, also when the pod log opens with 60 instance-manager lines', () => {
    expect(detect(CNPG_RECORD)).toBe('cloudnative-pg');
    expect(detect(...Array<string>(60).fill(CNPG_MANAGER), CNPG_RECORD)).toBe('cloudnative-pg');
  });
  it('Cloud SQL and Heroku', () => {
    expect(detect(CLOUD_SQL)).toBe('cloudsql');
    expect(detect(HEROKU)).toBe('heroku');
  });
  it('jsonlog and journald are still themselves', () => {
    expect(
      detect('{"timestamp":"2026-11-30 20:00:00.123 UTC","pid":1,"error_severity":"LOG","message":"x"}'),
    ).toBe('jsonlog');
    expect(detect(JSON.stringify({ MESSAGE: '[1] LOG:  x', __REALTIME_TIMESTAMP: '1', _PID: '1' }))).toBe(
      'journald',
    );
  });
});

describe('reading one entry of each platform', () => {
  const read = (text: string) => {
    const reader = createLogReader({ format: 'auto' });
    return [...reader.push(Buffer.from(text)), ...reader.end()];
  };
  it('CloudNativePG: the record, its pid and SQLSTATE; the manager line skipped', () => {
    const reader = createLogReader({ format: 'auto' });
    const events = [...reader.push(Buffer.from(`${CNPG_MANAGER}\n${CNPG_RECORD}\n`)), ...reader.end()];
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      pid: 25,
      severity: 'ERROR',
      sqlstate: '40P01',
      message: 'deadlock detected',
      statement: 'UPDATE t SET v = 1 WHERE id = 2',
      at: Date.parse('2021-04-30T11:14:09.718Z'),
    });
    expect(reader.stats.skipped['other-logger']).toBe(1);
  });
  it('Cloud SQL: the prefix read from textPayload', () => {
    expect(read(`${CLOUD_SQL}\n`)[0]).toMatchObject({
      pid: 4242,
      database: 'app',
      user: 'web',
      severity: 'ERROR',
      message: 'deadlock detected',
    });
  });
  it('Heroku: SQLSTATE from the prefix, pid and time from the envelope', () => {
    expect(read(`${HEROKU}\n`)[0]).toMatchObject({
      pid: 4242,
      sqlstate: '40P01',
      severity: 'ERROR',
      message: 'deadlock detected',
      at: Date.parse('2026-11-30T20:00:00.123Z'),
    });
  });
});

// Azure flexible server (concepts-logging's PostgreSQLLogs fields, a storage account's record and a
// PGSQLServerLogs row) and the RDS CLI's JSON (DownloadDBLogFilePortion's response).
const AZURE_STORAGE = JSON.stringify({
  time: '2026-11-30T20:00:00.0000000Z',
  resourceId: '/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DBFORPOSTGRESQL/FLEXIBLESERVERS/DB',
  category: 'PostgreSQLLogs',
  operationName: 'LogEvent',
  properties: {
    prefix: '2026-11-30 20:00:00 UTC-6b2c8f00.1092-',
    message: 'deadlock detected',
    detail:
      'Process 4242 waits for ShareLock on transaction 759; blocked by process 4243.\nProcess 4243 waits…',
    errorLevel: 'ERROR',
    sqlerrcode: '40P01',
    processId: 4242,
  },
});
const AZURE_ROW = JSON.stringify({
  TimeGenerated: '2026-11-30T20:00:00Z',
  Prefix: '2026-11-30 20:00:00 UTC-6b2c8f00.1092-',
  ErrorLevel: 'ERROR',
  Message: 'deadlock detected',
  SqlerrCode: '40P01',
});
const RDS_JSON = JSON.stringify(
  {
    LogFileData:
      '2026-11-30 20:00:00 UTC:10.0.0.5(51234):web@app:[4242]:ERROR:  deadlock detected\n2026-11-30 20:00:00 UTC:10.0.0.5(51234):web@app:[4242]:STATEMENT:  UPDATE t SET v = 1\n',
    AdditionalDataPending: false,
    Marker: '1:2',
  },
  null,
  4,
);

describe('Azure and RDS layouts', () => {
  it.each([
    ['an Azure storage-account record', AZURE_STORAGE, 'azure'],
    ['a Log Analytics row of PGSQLServerLogs', AZURE_ROW, 'azure'],
    [
      'rows as az monitor log-analytics query prints them',
      JSON.stringify([JSON.parse(AZURE_ROW)], null, 2),
      'azure',
    ],
    ['the JSON of aws rds download-db-log-file-portion', RDS_JSON, 'rds'],
  ])('%s is detected', (_what, text, format) => {
    expect(detectLogFormat(Buffer.from(`${text}\n`))).toBe(format);
  });

  it("Azure: the record as the server's stderr lines — time from the prefix, the pid from %c, DETAIL's lines", () => {
    const reader = createLogReader({ format: 'auto' });
    const events = [...reader.push(Buffer.from(`${AZURE_STORAGE}\n`)), ...reader.end()];
    expect(reader.format).toBe('azure');
    expect(reader.prefix).toBe('%t-%c-');
    expect(events[0]).toMatchObject({
      pid: 0x1092,
      severity: 'ERROR',
      message: 'deadlock detected',
      detail:
        'Process 4242 waits for ShareLock on transaction 759; blocked by process 4243.\nProcess 4243 waits…',
      at: Date.parse('2026-11-30T20:00:00Z'),
    });
  });

  it("RDS JSON: LogFileData read as stderr with RDS's prefix", () => {
    const reader = createLogReader({ format: 'auto' });
    const events = [...reader.push(Buffer.from(`${RDS_JSON}\n`)), ...reader.end()];
    expect(reader.prefix).toBe('%t:%r:%u@%d:[%p]:');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      pid: 4242,
      user: 'web',
      database: 'app',
      message: 'deadlock detected',
      statement: 'UPDATE t SET v = 1',
    });
  });
});
