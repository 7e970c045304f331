import type pg from 'pg';
import type { RelationRef } from '../../../core/ports.js';
import type { SqlFiles } from './sql-files.js';

/** Names kept per target; OIDs are reused only after a relation is dropped, which is rare. */
const MAX_CACHED = 10_000;

/**
 * Names relations by OID for reports that carry only OIDs (`relation 16385 of database 5`).
 * Only relations of the connected database (or shared catalogs, database 0) can be named: the
 * others are left out of the answer. Answers are cached; a missing OID is asked again next time.
 */
export class RelationNames {
  readonly #sql: SqlFiles;
  readonly #cache = new Map<number, string>();

  constructor(sql: SqlFiles) {
    this.#sql = sql;
  }

  /** Keyed `databaseOid/relationOid`, as the TargetReader port says. */
  async resolve(
    client: pg.Client,
    databaseOid: number,
    refs: readonly RelationRef[],
  ): Promise<Map<string, string>> {
    const visible = refs.filter((r) => r.databaseOid === databaseOid || r.databaseOid === 0);
    const unknown = [...new Set(visible.map((r) => r.relationOid).filter((oid) => !this.#cache.has(oid)))];
    if (unknown.length > 0) {
      const { rows } = await client.query<{ oid: string; name: string }>({
        name: 'hindsight_relation_names',
        text: this.#sql['relation-names'],
        values: [unknown],
      });
      if (this.#cache.size + rows.length > MAX_CACHED) this.#cache.clear();
      for (const row of rows) this.#cache.set(Number(row.oid), row.name);
    }
    const names = new Map<string, string>();
    for (const ref of visible) {
      const name = this.#cache.get(ref.relationOid);
      if (name !== undefined) names.set(`${ref.databaseOid}/${ref.relationOid}`, name);
    }
    return names;
  }

  /** Another database or a restored server: OIDs may now mean other relations. */
  clear(): void {
    this.#cache.clear();
  }
}
