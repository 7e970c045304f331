import type { SqlTags } from '../core/app-signal.js';
import type { DeadlockProcess, DeadlockReport, LogEvent } from '../core/log-event.js';
import { parseSqlTags } from '../core/sql-comment-tags.js';

const WAITS = /^Process (\d+) waits for (\S+) on (.+); blocked by process (\d+)\.$/;
const QUERY = /^Process (\d+): ?(.*)$/;
/** The victim's CONTEXT names the relation it was working on: `while updating tuple (0,2) in relation "t"`. */
const CONTEXT_RELATION = /^while [^\n]*? in relation "((?:[^"]|"")+)"/;

/**
 * Reads a `deadlock detected` entry's DETAIL:
 *
 *     Process 12 waits for ShareLock on transaction 746; blocked by process 13.
 *     Process 13 waits for ShareLock on transaction 745; blocked by process 12.
 *     Process 12: UPDATE …            (a query may go on over several lines)
 *     Process 13: UPDATE …
 *
 * The victim is the process that logged the ERROR. Objects keep PostgreSQL's text (`tuple (0,1)
 * of relation 16385 of database 5`): OIDs are resolved elsewhere, so `relation` is set only when
 * the log names it — the victim's CONTEXT does.
 *
 * A statement's sqlcommenter tags (the app's route and call site) are read here, while the comment
 * is still in the text, and the comment is taken out of `query`. The DETAIL's text is cut at
 * `track_activity_query_size`, which may cut off tags written last: the victim's STATEMENT holds
 * its whole text, so its tags are looked for there too.
 */
export function parseDeadlockReport(event: LogEvent): DeadlockReport {
  const waits: { pid: number; mode: string; object: string; blockedBy: number }[] = [];
  const queries = new Map<number, string[]>();
  let current: string[] | null = null;
  for (const line of (event.detail ?? '').split('\n')) {
    const wait = WAITS.exec(line);
    if (wait) {
      waits.push({
        pid: Number(wait[1]),
        mode: wait[2] ?? '',
        object: wait[3] ?? '',
        blockedBy: Number(wait[4]),
      });
      current = null;
      continue;
    }
    const query = QUERY.exec(line);
    if (query) {
      current = [query[2] ?? ''];
      queries.set(Number(query[1]), current);
      continue;
    }
    current?.push(line);
  }
  const victimPid = event.pid;
  const victimRelation = relationFromContext(event.context);
  const victimStatement = event.statement === null ? null : parseSqlTags(event.statement);
  const processes: DeadlockProcess[] = waits.map((wait) => {
    const victim = wait.pid === victimPid;
    let text = queries.get(wait.pid)?.join('\n') ?? null;
    // `<insufficient privilege>`, `<backend information not available>`: no query to show.
    if (text !== null && /^<[^>]*>$/.test(text)) text = null;
    const tagged = text === null ? null : parseSqlTags(text);
    let query = tagged === null || tagged.sql === '' ? null : tagged.sql;
    let tags: SqlTags = tagged?.tags ?? {};
    if (victim && victimStatement !== null) {
      if (query === null && victimStatement.sql !== '') query = victimStatement.sql;
      if (!hasTags(tags)) tags = victimStatement.tags;
    }
    return {
      pid: wait.pid,
      waitsForMode: wait.mode,
      waitsForObject: wait.object,
      relation: victim ? victimRelation : null,
      blockedBy: wait.blockedBy,
      query,
      ...(hasTags(tags) ? { tags } : {}),
    };
  });
  return { at: event.at, victimPid, processes, database: event.database };
}

const hasTags = (tags: SqlTags): boolean => Object.keys(tags).length > 0;

/** The relation a CONTEXT line names (`while locking tuple (0,1) in relation "t"`), or null. */
export function relationFromContext(context: string | null): string | null {
  if (context === null) return null;
  return CONTEXT_RELATION.exec(context)?.[1]?.replaceAll('""', '"') ?? null;
}
