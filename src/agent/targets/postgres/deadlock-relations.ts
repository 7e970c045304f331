import type { DeadlockProcess, DeadlockReport } from '../../../core/log-event.js';
import type { RelationRef } from '../../../core/ports.js';
import type { LockObject, RowLockObject } from '../../../core/sample.js';

/** Names relations by OID through the target's catalog, keyed `databaseOid/relationOid`. */
export type RelationNamer = (
  refs: readonly RelationRef[],
  signal: AbortSignal,
) => Promise<ReadonlyMap<string, string>>;

/**
 * A log deadlock report with the relations its lock objects name only by OID (`tuple (0,1) of
 * relation 16385 of database 5`) named through the target. A relation the target cannot name
 * (another database, dropped, the target down) stays null: the report is never held back.
 */
export async function nameDeadlockRelations(
  report: DeadlockReport,
  names: RelationNamer,
  signal: AbortSignal,
  /** The row the victim wanted, from its CONTEXT (the DETAIL names transactions, not rows). */
  victimCtid: string | null = null,
): Promise<DeadlockReport> {
  const refs = report.processes.flatMap((p) => (p.relation === null ? relationRefs(p.waitsForObject) : []));
  const named =
    refs.length === 0
      ? new Map<string, string>()
      : await names(refs, signal).catch(() => new Map<string, string>());
  const processes = report.processes.map((p): DeadlockProcess => {
    const ref = relationRefs(p.waitsForObject)[0];
    const name = p.relation ?? (ref ? named.get(`${ref.databaseOid}/${ref.relationOid}`) : undefined) ?? null;
    const ctid = p.pid === report.victimPid ? victimCtid : null;
    return { ...p, relation: name, lockObject: logLockObject(p.waitsForObject, p.blockedBy, name, ctid) };
  });
  return { ...report, processes };
}

/**
 * A deadlock report's lock object (`transaction 746`, `tuple (0,1) of relation 16385 of database
 * 5`, `advisory lock [5,0,42,1]`…) as what it is. In a deadlock report the process a wait is
 * "blocked by" holds the transaction waited for; `relation` is the name found for it, if any.
 */
export function logLockObject(
  text: string,
  blockedBy: number,
  relation: string | null,
  ctid: string | null = null,
): LockObject {
  const ref = relationRefs(text)[0];
  const relationOid = ref?.relationOid ?? null;
  const transaction = /^transaction (\d+)$/.exec(text);
  if (transaction) {
    // The victim's CONTEXT names the relation and ctid of the row it wanted.
    const row: RowLockObject | null =
      relation === null ? null : { kind: 'row', relation, relationOid: null, ctid };
    return { kind: 'transaction', transactionId: transaction[1] ?? null, holderPid: blockedBy, row };
  }
  const tuple = /^tuple (\(\d+,\d+\)) of relation/.exec(text);
  if (tuple) return { kind: 'row', relation, relationOid, ctid: tuple[1] ?? null };
  if (/^relation \d+ of database \d+$/.test(text)) return { kind: 'relation', relation, relationOid };
  const virtual = /^virtual transaction (\S+)$/.exec(text);
  if (virtual) return { kind: 'virtual_transaction', virtualXid: virtual[1] ?? null, holderPid: blockedBy };
  const advisory = /^advisory lock \[(\d+),(\d+),(\d+),(\d+)\]$/.exec(text);
  if (advisory)
    return {
      kind: 'advisory',
      key: advisoryKey(Number(advisory[2]), Number(advisory[3]), Number(advisory[4])),
    };
  return { kind: 'other', lockType: /^[a-z ]+?(?= \d|$| of| \[)/.exec(text)?.[0] ?? text, relation };
}

/** pg_advisory_lock(bigint) is objsubid 1 (key split high/low); (int4, int4) is objsubid 2. */
function advisoryKey(classid: number, objid: number, objsubid: number): string {
  if (objsubid === 1) return ((BigInt(classid) << 32n) | BigInt(objid)).toString();
  const signed = (n: number): number => (n > 2_147_483_647 ? n - 4_294_967_296 : n);
  return `${signed(classid)},${signed(objid)}`;
}

/** `tuple (0,1) of relation 16385 of database 5` → `{ databaseOid: 5, relationOid: 16385 }`. */
export function relationRefs(lockObject: string): RelationRef[] {
  const match = /relation (\d+) of database (\d+)/.exec(lockObject);
  if (!match) return [];
  return [{ relationOid: Number(match[1]), databaseOid: Number(match[2]) }];
}
