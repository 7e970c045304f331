import { sql, type Kysely } from 'kysely';
import type { Finding } from '../../core/finding.js';
import {
  findingTime,
  type EvidenceLinks,
  type EvidenceRepository,
  type FindingRepository,
} from '../../core/incident-store.js';
import { listLimit } from '../list-limit.js';
import type { StoreDatabase } from './store-database.js';

/** Rows per INSERT: 7 parameters each stays far below PostgreSQL's 65,535 per statement. */
const BATCH = 1_000;

const endOf = (finding: Finding): number | null =>
  finding.kind === 'blocking_episode' ? finding.endedAt : finding.at;

/**
 * One report per id, as saving them one by one would leave it: the later report wins, except that
 * an `open` episode report never replaces a `closed` one. (One INSERT … ON CONFLICT may not touch a
 * row twice, so a batch holding both reports of an episode is folded first.)
 */
function latestReports(findings: readonly Finding[]): Finding[] {
  const byId = new Map<string, Finding>();
  for (const finding of findings) {
    const seen = byId.get(finding.id);
    if (seen && endOf(seen) !== null && endOf(finding) === null) continue;
    byId.set(finding.id, finding);
  }
  return [...byId.values()];
}

export function postgresFindings(db: Kysely<StoreDatabase>): FindingRepository {
  return {
    async save(findings, receivedAt) {
      const reports = latestReports(findings);
      for (let start = 0; start < reports.length; start += BATCH) {
        const rows = reports.slice(start, start + BATCH).map((finding) => ({
          id: finding.id,
          target: finding.target,
          kind: finding.kind,
          at: findingTime(finding),
          ended_at: endOf(finding),
          payload: JSON.stringify(finding),
          received_at: receivedAt,
        }));
        await db
          .insertInto('findings')
          .values(rows)
          .onConflict((oc) =>
            oc
              .column('id')
              .doUpdateSet((eb) => ({
                target: eb.ref('excluded.target'),
                kind: eb.ref('excluded.kind'),
                at: eb.ref('excluded.at'),
                ended_at: eb.ref('excluded.ended_at'),
                payload: eb.ref('excluded.payload'),
                received_at: eb.ref('excluded.received_at'),
              }))
              // A retried `open` report arriving after the `closed` one must not reopen the episode.
              .where(sql<boolean>`NOT (findings.ended_at IS NOT NULL AND excluded.ended_at IS NULL)`),
          )
          .execute();
      }
    },

    async get(ids) {
      if (ids.length === 0) return [];
      const rows = await db
        .selectFrom('findings')
        .select(['id', 'payload'])
        .where('id', '=', sql<string>`ANY(${[...ids]})`)
        .execute();
      const byId = new Map(rows.map((r) => [r.id, r.payload as Finding]));
      return ids.flatMap((id) => byId.get(id) ?? []);
    },

    async list({ since, until, target, kinds, limit, after }) {
      if (kinds?.length === 0) return [];
      let query = db
        .selectFrom('findings')
        .select('payload')
        .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>=', since)]));
      if (until !== undefined) query = query.where('at', '<', until);
      if (target !== undefined) query = query.where('target', '=', target);
      if (kinds !== undefined) query = query.where('kind', 'in', [...kinds]);
      // A row comparison, so that the (at, id) index serves the keyset cursor.
      if (after !== undefined) query = query.where(sql<boolean>`(at, id) > (${after.at}, ${after.id})`);
      const rows = await query.orderBy('at').orderBy('id').limit(listLimit(limit)).execute();
      return rows.map((r) => r.payload as Finding);
    },

    async prune(before) {
      const result = await sql`
        DELETE FROM findings f
         WHERE f.ended_at < ${before}
           AND NOT EXISTS (SELECT 1 FROM evidence_links e WHERE e.finding_id = f.id)
           AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.evidence @> ARRAY[f.id::text])
      `.execute(db);
      return Number(result.numAffectedRows ?? 0);
    },
  };
}

export function postgresEvidence(db: Kysely<StoreDatabase>): EvidenceRepository {
  const linkMany = async (links: readonly EvidenceLinks[]): Promise<void> => {
    // One INSERT … ON CONFLICT may not touch a row twice: the first link of a pair is kept, as linking twice would.
    const rows = new Map<string, { incident_id: string; finding_id: string; linked_at: number }>();
    for (const { incidentId, findingIds, at } of links) {
      for (const findingId of findingIds) {
        const key = `${incidentId}\u0000${findingId}`;
        if (!rows.has(key)) rows.set(key, { incident_id: incidentId, finding_id: findingId, linked_at: at });
      }
    }
    const all = [...rows.values()];
    // 3 parameters a row.
    for (let start = 0; start < all.length; start += 3 * BATCH) {
      await db
        .insertInto('evidence_links')
        .values(all.slice(start, start + 3 * BATCH))
        .onConflict((oc) => oc.columns(['incident_id', 'finding_id']).doNothing())
        .execute();
    }
  };
  return {
    async link(incidentId, findingIds, at) {
      await linkMany([{ incidentId, findingIds, at }]);
    },
    linkMany,

    async findings(incidentId) {
      const rows = await db
        .selectFrom('evidence_links as e')
        .innerJoin('findings as f', 'f.id', 'e.finding_id')
        .select('f.payload')
        .where('e.incident_id', '=', incidentId)
        .orderBy('f.at')
        .orderBy('f.id')
        .execute();
      return rows.map((r) => r.payload as Finding);
    },
  };
}
