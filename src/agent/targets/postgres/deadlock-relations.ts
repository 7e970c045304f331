import type { DeadlockProcess, DeadlockReport } from '../../../core/log-event.js';
import type { RelationRef } from '../../../core/ports.js';

/** Names relations by OID through the target's catalog, keyed `databaseOid/relationOid`. */
export type RelationNamer = (refs: readonly RelationRef[], signal: AbortSignal) => Promise<ReadonlyMap<string, string>>;

/**
 * A log deadlock report with the relations its lock objects name only by OID (`tuple (0,1) of
 * relation 16385 of database 5`) named through the target. A relation the target cannot name
 * (another database, dropped, the target down) stays null: the report is never held back.
 */
export async function nameDeadlockRelations(
  report: DeadlockReport,
  names: RelationNamer,
  signal: AbortSignal,
): Promise<DeadlockReport> {
  const refs = report.processes.flatMap((p) => (p.relation === null ? relationRefs(p.waitsForObject) : []));
  if (refs.length === 0) return report;
  const named = await names(refs, signal).catch(() => new Map<string, string>());
  const processes = report.processes.map((p): DeadlockProcess => {
    if (p.relation !== null) return p;
    const ref = relationRefs(p.waitsForObject)[0];
    const name = ref ? named.get(`${ref.databaseOid}/${ref.relationOid}`) : undefined;
    return name === undefined ? p : { ...p, relation: name };
  });
  return { ...report, processes };
}

/** `tuple (0,1) of relation 16385 of database 5` → `{ databaseOid: 5, relationOid: 16385 }`. */
export function relationRefs(lockObject: string): RelationRef[] {
  const match = /relation (\d+) of database (\d+)/.exec(lockObject);
  if (!match) return [];
  return [{ relationOid: Number(match[1]), databaseOid: Number(match[2]) }];
}
