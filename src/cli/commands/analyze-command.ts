import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { LOG_FORMATS } from '../../core/log-event.js';
import { userError } from '../../core/errors.js';
import type { AnalyzeFlags } from '../../config/analyze-options.js';

async function checkHtmlWritable(file: string): Promise<void> {
  const full = resolve(file);
  const problem = await access(full, constants.W_OK).then(
    () => undefined,
    () =>
      access(dirname(full), constants.W_OK | constants.X_OK).then(
        () => undefined,
        (cause: unknown) => cause,
      ),
  );
  if (problem !== undefined) {
    throw userError(
      'ANALYZE_HTML_UNWRITABLE',
      `cannot write ${file}: ${dirname(full)} does not exist or is not writable. Choose a writable path for --html.`,
      problem,
    );
  }
}

/** Each format and platform with the command that reads it (the README's table, for the terminal). */
const ANALYZE_FORMATS_HELP = `
Formats and platforms (told from the first lines; --log-format and --log-prefix name them):
  stderr, any log_line_prefix    hindsight analyze /var/log/postgresql/postgresql-16-main.log
  csvlog (Zalando Spilo)         hindsight analyze pg_log/postgresql-1.csv
  jsonlog (PG 15+, Crunchy PGO)  hindsight analyze log/postgresql.json
  syslog                         hindsight analyze /var/log/syslog --year 2025
  journald                       journalctl -u postgresql@16-main -o json | hindsight analyze -
  CloudNativePG                  kubectl logs shop-db-1 | hindsight analyze -
  Google Cloud SQL               gcloud logging read 'resource.type="cloudsql_database"' --format=json > cloudsql.json
                                 hindsight analyze cloudsql.json
  Heroku Postgres                heroku logs -n 1500 -a shop -p postgres > heroku.log && hindsight analyze heroku.log
  AWS RDS / Aurora (console)     hindsight analyze postgresql.log.2026-11-23-23
  AWS RDS / Aurora (CLI JSON)    aws rds download-db-log-file-portion --db-instance-identifier shop \\
                                   --log-file-name error/postgresql.log.2026-11-23-23 --starting-token 0 > rds.json
                                 hindsight analyze rds.json
  Azure flexible server          hindsight analyze PT1H.json    (storage account, insights-logs-postgresqllogs)
                                 az monitor log-analytics query -w <workspace-id> --analytics-query PGSQLServerLogs > azure.json
                                 hindsight analyze azure.json

Time zones: each line's own (UTC, CEST, EDT, +0545); for an abbreviation several zones share
(IST, CST) pass the server's log_timezone: --log-timezone Asia/Kolkata (or +05:30).
`;

/** `hindsight analyze FILE…`: an offline report of PostgreSQL server logs, causes first. */
export function registerAnalyzeCommand(program: Command): void {
  program
    .command('analyze')
    .description(
      'Report deadlocks, blocking, lock waits, timeouts, errors and slow queries (victims vs causes) from PostgreSQL server logs.',
    )
    .argument(
      '<files...>',
      'stderr, csvlog, jsonlog, syslog, journald (journalctl -o json / -o short-iso), CloudNativePG pod logs, Google Cloud SQL exports, Heroku logs, AWS RDS/Aurora downloads, Azure diagnostic logs, gzip-compressed or not; - reads stdin',
    )
    .option(
      '--since <time>',
      'only count entries at or after this time (e.g. "2026-03-01 15:00", UTC unless a zone is given)',
    )
    .option('--until <time>', 'only count entries before this time')
    .option(
      '--log-prefix <prefix>',
      "the server's log_line_prefix (stderr logs; detected from the lines when absent)",
    )
    .option('--log-format <format>', `auto (told from the first lines), ${LOG_FORMATS.join(', ')}`, 'auto')
    .option(
      '--log-timezone <zone>',
      "the server's log_timezone (an IANA zone such as Asia/Kolkata, or an offset such as +05:30) for zone abbreviations several zones share (IST, CST, AST, BST)",
    )
    .option(
      '--year <year>',
      "syslog: the year of 'Mon DD HH:MM:SS' timestamps (default: from the file's modification time)",
    )
    .option('--json', 'print the report as JSON')
    .option('--md', 'print the report as Markdown')
    .option('--html <file>', 'also write a self-contained HTML report with charts to this file')
    .option('--top <n>', 'rows in each top list', '25')
    .option('--jobs <n>', 'worker threads for large files (0: none)', '2')
    .option('--no-progress', 'no progress bar on stderr')
    .addHelpText('after', ANALYZE_FORMATS_HELP)
    .action(async (files: string[], flags: AnalyzeFlags) => {
      // Loaded here, not at start-up, so that other commands do not pay for them.
      const [{ parseAnalyzeOptions }, { runAnalysis }] = await Promise.all([
        import('../../config/analyze-options.js'),
        import('../../analyze/run-analysis.js'),
      ]);
      const options = parseAnalyzeOptions(files, flags);
      // An unwritable --html would otherwise be found only after reading every log.
      if (options.htmlFile !== null) await checkHtmlWritable(options.htmlFile);
      const report = await runAnalysis(options, { stderr: process.stderr });
      if (options.htmlFile !== null) {
        const file = options.htmlFile;
        const { renderHtml } = await import('../../analyze/html-report.js');
        await writeFile(file, await renderHtml(report)).catch((cause: unknown) => {
          throw userError(
            'ANALYZE_HTML_UNWRITABLE',
            `cannot write ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}. Choose a writable path for --html.`,
            cause,
          );
        });
        process.stderr.write(`hindsight: wrote the HTML report to ${file}\n`);
      }
      const out =
        options.output === 'json'
          ? `${JSON.stringify(report, null, 2)}\n`
          : options.output === 'md'
            ? (await import('../../analyze/markdown-report.js')).renderMarkdown(report)
            : (await import('../../analyze/text-report.js')).renderText(report, {
                color: process.stdout.isTTY && !process.env.NO_COLOR,
              });
      process.stdout.write(out);
    });
}
