import type { Readable } from 'node:stream';
import type { DeadlockReport, LogFormatChoice } from '../../../core/log-event.js';
import type { ServerLogHandlers, ServerLogSource } from '../../../core/ports.js';
import { interpretLogEvent } from '../../../postgres-log/log-signal.js';
import { parseLogTimezone, type LogTimezone } from '../../../postgres-log/log-timezone.js';
import { nameDeadlockRelations, type RelationNamer } from './deadlock-relations.js';
import { openLogPositionFile } from './log-position-file.js';
import { tailLog, tailStream, type LogTailOptions } from './log-tailer.js';
import type { ServerSettings } from './server-settings.js';

export interface PostgresServerLogOptions {
  /** A log file, or the server's `log_directory` (its newest file is followed); with `stream`, its name. */
  readonly path: string;
  /** Read the log from this stream (standard input, where `kubectl logs -f` pipes it) instead of `path`. */
  readonly stream?: Readable;
  readonly format: LogFormatChoice;
  /** The server's `log_line_prefix` when given; otherwise read from the server, else detected from the lines. */
  readonly prefix: string | null;
  /** `--log-timezone` when given; otherwise the server's log_timezone when it can be read. */
  readonly timezone?: LogTimezone | null;
  /** Read what the file already holds instead of starting at its end. */
  readonly fromStart: boolean;
  /** Applied to the queries of deadlock reports (literals → $n); identity keeps raw text. */
  readonly normalizeQuery: (sql: string) => string;
  /** The watched server: names relations by OID and tells its `log_line_prefix`. */
  readonly target: {
    /**
     * The watched database. A server's log holds every database's entries: those that name another
     * database (`%d` in the prefix, csvlog, jsonlog) are not this target's and are skipped; entries
     * that name none are kept.
     */
    readonly database: string;
    readonly relationNames: RelationNamer;
    ready(): Promise<ServerSettings>;
  };
  /**
   * A file where the position read up to is kept, so that a restart goes on there (serve, with its
   * data directory); absent: a start begins at the log's end (watch, like `tail -f`).
   */
  readonly positionFile?: string;
  /** How long to wait for the server's `log_line_prefix` before detecting it from the lines (default 3 s). */
  readonly prefixWaitMs?: number;
}

const PREFIX_WAIT_MS = 3000;

/** The row the victim wanted, from its CONTEXT: `while updating tuple (0,2) in relation "t"`. */
const contextCtid = (context: string | null): string | null =>
  context === null ? null : (/^while [^\n]*? tuple (\(\d+,\d+\)) in relation /.exec(context)?.[1] ?? null);

/**
 * The `ServerLogSource` of one PostgreSQL: tails its log, interprets each entry, and hands
 * deadlock reports on with their queries normalized and their relations named — in log order,
 * each once its names are known — so the watch never reads log text.
 */
export function createPostgresServerLog(options: PostgresServerLogOptions): ServerLogSource {
  return {
    async follow(handlers: ServerLogHandlers, signal: AbortSignal): Promise<void> {
      // stderr text, bare or in an envelope (syslog, journald, Cloud SQL), starts with log_line_prefix.
      const prefixed = !['csvlog', 'jsonlog', 'cloudnative-pg', 'heroku'].includes(options.format);
      const needed = (options.prefix === null && prefixed) || (options.timezone ?? null) === null;
      const settings = needed ? await serverSettings(options) : undefined;
      const prefix = options.prefix ?? (prefixed ? settings?.logLinePrefix : undefined);
      const timezone = options.timezone ?? serverTimezone(settings);
      /** Reports waiting for their relation names, one after the other so that order is kept. */
      let naming: Promise<void> = Promise.resolve();
      const deliver = (report: DeadlockReport, victimCtid: string | null): void => {
        naming = naming
          .then(async () => {
            handlers.onDeadlock(
              await nameDeadlockRelations(report, options.target.relationNames, signal, victimCtid),
            );
          })
          .catch((error: unknown) => {
            handlers.onProblem(
              `could not hand on a deadlock report: ${error instanceof Error ? error.message : String(error)}`,
            );
          });
      };
      const positions =
        options.positionFile === undefined || options.stream !== undefined
          ? null
          : await openLogPositionFile(options.positionFile, (message) => {
              handlers.onProblem(message);
            });
      try {
        const tail: LogTailOptions = {
          ...(positions === null ? {} : { resume: positions }),
          format: options.format,
          ...(prefix === undefined ? {} : { prefix }),
          timezone,
          fromStart: options.fromStart,
          signal,
          onEvents: (events) => {
            for (const event of events) {
              if (event.database !== null && event.database !== options.target.database) continue;
              const signalled = interpretLogEvent(event);
              if (signalled === null) continue;
              if (signalled.kind !== 'deadlock') {
                handlers.onSignal(signalled.kind);
                continue;
              }
              const { report } = signalled;
              // The victim logged the report: the entry's user and application are its own.
              const victim = { user: event.user, application: event.application };
              deliver(
                {
                  ...report,
                  processes: report.processes.map((p) => ({
                    ...p,
                    query: p.query === null ? null : options.normalizeQuery(p.query),
                    ...(p.pid === report.victimPid ? victim : {}),
                  })),
                },
                contextCtid(event.context),
              );
            }
          },
          onProblem: (problem) => {
            handlers.onProblem(problem.message);
          },
        };
        await (options.stream === undefined
          ? tailLog(options.path, tail)
          : tailStream(options.stream, options.path, tail));
      } finally {
        await naming;
        await positions?.settled();
      }
    },
  };
}

/** The server's log_timezone as the readers take it; null when unknown or not a zone we read. */
const serverTimezone = (settings: ServerSettings | undefined): LogTimezone | null => {
  if (settings === undefined) return null;
  const parsed = parseLogTimezone(settings.logTimezone);
  return 'zone' in parsed ? parsed.zone : null;
};

/** The server's own settings (its `log_line_prefix`, its log_timezone) when they can be read soon enough. */
async function serverSettings(options: PostgresServerLogOptions): Promise<ServerSettings | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      resolve(undefined);
    }, options.prefixWaitMs ?? PREFIX_WAIT_MS);
  });
  try {
    return await Promise.race([options.target.ready().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
